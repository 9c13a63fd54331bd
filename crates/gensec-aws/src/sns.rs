//! [`Notifier`] on an SNS topic (e-mail subscriptions receive the plain text).

use crate::error::aws_error;
use async_trait::async_trait;
use aws_sdk_sns::Client;
use gensec_core::Result;
use gensec_core::ports::{EmailMessage, Notifier};

/// SNS subjects: at most 100 printable ASCII characters, no line breaks.
const SUBJECT_LIMIT: usize = 100;
/// SNS messages: at most 256 KiB.
const MESSAGE_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

/// A subject SNS accepts: printable ASCII, one line, at most 100 characters.
pub fn sns_subject(subject: &str) -> String {
    let printable: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let collapsed = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.len() <= SUBJECT_LIMIT {
        collapsed
    } else {
        format!("{}...", &collapsed[..SUBJECT_LIMIT - 3])
    }
}

/// The message body within SNS's size limit, cut at a character boundary.
fn sns_message(text: &str) -> String {
    if text.len() <= MESSAGE_LIMIT {
        return text.to_string();
    }
    let note = "\n\n[message shortened to fit the notification size limit]";
    let mut end = MESSAGE_LIMIT - note.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &text[..end])
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn send(&self, message: &EmailMessage) -> Result<String> {
        let output = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(sns_subject(&message.subject))
            .message(sns_message(&message.text))
            .send()
            .await
            .map_err(|err| aws_error(format!("publishing to {}", self.topic_arn), err))?;
        Ok(format!(
            "{} message {}",
            self.topic_arn,
            output.message_id().unwrap_or("(no id)")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_fit_sns_rules() {
        assert_eq!(
            sns_subject("Security Alert: HIGH -\n S3 bucket\tpublic"),
            "Security Alert: HIGH - S3 bucket public"
        );
        let long = sns_subject(&"é word ".repeat(40));
        assert!(long.len() <= SUBJECT_LIMIT && long.is_ascii());
        assert!(sns_message(&"x".repeat(MESSAGE_LIMIT + 10)).len() <= MESSAGE_LIMIT);
    }
}
