//! A Terraform body under construction, and a finished block with its comments.

use hcl::expr::Expression;
use hcl::{Block, Identifier};

/// A Terraform body under construction: attributes, then nested blocks keyed
/// by name and, for repeated blocks, by the CloudFormation array index.
#[derive(Debug, Default)]
pub(super) struct Node {
    pub(super) attributes: Vec<(String, Expression)>,
    pub(super) blocks: Vec<(String, Option<usize>, Node)>,
}

impl Node {
    pub(super) fn has(&self, name: &str) -> bool {
        self.attributes.iter().any(|(n, _)| n == name)
            || self.blocks.iter().any(|(n, _, _)| n == name)
    }

    fn child(&mut self, name: &str, key: Option<usize>) -> &mut Node {
        let position = self
            .blocks
            .iter()
            .position(|(n, k, _)| n == name && *k == key)
            .unwrap_or_else(|| {
                self.blocks.push((name.to_string(), key, Node::default()));
                self.blocks.len() - 1
            });
        &mut self.blocks[position].2
    }

    /// Set the argument at `path`; true when it replaced a value.
    pub(super) fn set(&mut self, path: &str, indices: &[usize], expr: Expression) -> bool {
        let segments: Vec<&str> = path.split('.').collect();
        let Some((last, parents)) = segments.split_last() else {
            return false;
        };
        let mut indices = indices.iter().copied();
        let mut node = self;
        for segment in parents {
            node = match segment.strip_suffix("[]") {
                Some(name) => node.child(name, Some(indices.next().unwrap_or(0))),
                None => node.child(segment, None),
            };
        }
        let name = last.trim_end_matches("[]");
        if let Some(slot) = node.attributes.iter_mut().find(|(n, _)| n == name) {
            slot.1 = expr;
            true
        } else {
            node.attributes.push((name.to_string(), expr));
            false
        }
    }

    /// Set the argument at `path` (`[]` after a repeated block) in every
    /// existing block on the path where it is absent; creates no block.
    /// True when it was set somewhere.
    pub(super) fn fill(&mut self, path: &str, expr: &Expression) -> bool {
        let segments: Vec<&str> = path.split('.').collect();
        self.fill_segments(&segments, expr)
    }

    fn fill_segments(&mut self, segments: &[&str], expr: &Expression) -> bool {
        match segments {
            [] => false,
            [last] => {
                let name = last.trim_end_matches("[]");
                if self.has(name) {
                    return false;
                }
                self.attributes.push((name.to_string(), expr.clone()));
                true
            }
            [first, rest @ ..] => {
                let name = first.trim_end_matches("[]");
                let mut set = false;
                for (_, _, child) in self.blocks.iter_mut().filter(|(n, _, _)| n == name) {
                    set |= child.fill_segments(rest, expr);
                }
                set
            }
        }
    }

    /// Order attributes and blocks by name, at every level (stable for repeated blocks).
    pub(super) fn sort(&mut self) {
        self.attributes.sort_by(|a, b| a.0.cmp(&b.0));
        self.blocks.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, _, child) in &mut self.blocks {
            child.sort();
        }
    }

    pub(super) fn into_block(self, identifier: &str, labels: &[&str]) -> Block {
        let mut builder = Block::builder(Identifier::unchecked(identifier));
        for label in labels {
            builder = builder.add_label(*label);
        }
        for (name, expr) in self.attributes {
            builder = builder.add_attribute((Identifier::unchecked(name), expr));
        }
        for (name, _, child) in self.blocks {
            builder = builder.add_block(child.into_block(&name, &[]));
        }
        builder.build()
    }
}

/// A block of the output with the comments that precede it.
#[derive(Debug)]
pub(super) struct Emitted {
    pub(super) comments: Vec<String>,
    pub(super) block: Block,
}
