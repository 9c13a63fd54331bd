//! A walker for the Amazon States Language the deployment's definitions use,
//! so tests run the real definition files with the real handlers against
//! moto. It interprets what the definitions use and refuses the rest:
//!
//! - `Task` with `arn:aws:states:::lambda:invoke` (the result is
//!   `{"Payload": ...}`) and `arn:aws:states:::states:startExecution.sync:2`
//!   (a child execution, walked to its end; its failure is
//!   `States.TaskFailed`), `Parameters`, `ResultSelector`, `ResultPath`,
//!   `Retry` (without the waits), `Catch`;
//! - `Map`, inline or `DISTRIBUTED`: items from `ItemReader` (an S3 JSON
//!   array) or `ItemsPath`, each made by `ItemSelector` with
//!   `$$.Map.Item.Value`/`Index`, run at most `MaxConcurrency` at a time
//!   (distributed: each one a child workflow execution with its own
//!   `$$.Execution.Id`), failed items tolerated up to
//!   `ToleratedFailurePercentage` (above it the Map fails with
//!   `States.ExceedToleratedFailureThreshold`), results as an array;
//! - `Succeed`, `Fail`.
//!
//! Paths are `$`, `$.a.b` and `$$.a.b` (what the definitions use).
#![allow(dead_code, clippy::unwrap_used)]

use futures::future::{BoxFuture, join_all};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A caught error: `{"Error": ..., "Cause": ...}`.
pub type Caught = Value;

/// What the walked states call out to.
pub trait Backend: Sync {
    /// `lambda:invoke` of `function` (an ARN) with `payload`: the function's answer.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, Caught>>;
    /// `s3:getObject` for an `ItemReader`.
    fn get_object<'a>(&'a self, bucket: &'a str, key: &'a str) -> BoxFuture<'a, Value>;
    /// `startExecution.sync:2`: start `name` on `machine` and walk it to its
    /// end; the result is what DescribeExecution would say.
    fn start_execution_sync<'a>(
        &'a self,
        machine: &'a str,
        name: &'a str,
        input: Value,
        started_by: &'a str,
    ) -> BoxFuture<'a, Result<Value, Caught>>;
}

/// One walked execution.
#[derive(Debug, Clone)]
pub struct Walk {
    /// The Task and Map states it ran, in order (not its children's).
    pub visited: Vec<String>,
    pub state: Value,
    pub succeeded: bool,
    /// The child workflow executions of its Distributed Maps, in item order.
    pub children: Vec<Walk>,
    /// `$$.Execution.Id`.
    pub execution_id: String,
}

/// Counts every state entered (all executions), for the figures.
pub static STATES_ENTERED: AtomicUsize = AtomicUsize::new(0);

/// Evaluate a `$`, `$.a.b` or `$$.a.b` path.
pub fn path(expr: &str, state: &Value, context: &Value) -> Value {
    let (root, rest) = if let Some(rest) = expr.strip_prefix("$$") {
        (context, rest)
    } else if let Some(rest) = expr.strip_prefix('$') {
        (state, rest)
    } else {
        panic!("unsupported path {expr}");
    };
    let mut value = root;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        value = value
            .get(part)
            .unwrap_or_else(|| panic!("{expr}: no field {part} in {value}"));
    }
    value.clone()
}

/// Evaluate a payload template (`Parameters`, `ItemSelector`, `ResultSelector`).
pub fn template(template: &Value, state: &Value, context: &Value) -> Value {
    match template {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| match key.strip_suffix(".$") {
                    Some(field) => (
                        field.to_string(),
                        path(value.as_str().unwrap(), state, context),
                    ),
                    None => (key.clone(), self::template(value, state, context)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Apply `ResultPath`: absent `$` (replace), `null` (discard), `$.a.b` (set).
pub fn apply_result_path(state: &mut Value, result_path: Option<&Value>, result: Value) {
    match result_path {
        Some(Value::Null) => {}
        None => *state = result,
        Some(Value::String(p)) if p == "$" => *state = result,
        Some(Value::String(p)) => {
            let parts: Vec<&str> = p.strip_prefix("$.").unwrap().split('.').collect();
            let mut target = state;
            for part in &parts[..parts.len() - 1] {
                if target.get(*part).is_none() {
                    target[*part] = json!({});
                }
                target = target.get_mut(*part).unwrap();
            }
            target[parts[parts.len() - 1]] = result;
        }
        Some(other) => panic!("ResultPath {other}"),
    }
}

fn matches(error_equals: &Value, error: &str) -> bool {
    error_equals.as_array().unwrap().iter().any(|e| {
        let e = e.as_str().unwrap();
        e == error || (e == "States.ALL")
    })
}

/// Walk `machine` (a definition with `StartAt` and `States`) from `input`.
pub fn run<'a>(
    backend: &'a dyn Backend,
    machine: &'a Value,
    input: Value,
    execution_id: String,
) -> BoxFuture<'a, Walk> {
    Box::pin(async move {
        let context = json!({ "Execution": { "Id": execution_id } });
        let mut walk = Walk {
            visited: Vec::new(),
            state: input,
            succeeded: false,
            children: Vec::new(),
            execution_id: execution_id.clone(),
        };
        let mut current = machine["StartAt"].as_str().unwrap().to_string();
        loop {
            STATES_ENTERED.fetch_add(1, Ordering::Relaxed);
            let definition = &machine["States"][&current];
            let outcome = match definition["Type"].as_str().unwrap() {
                "Succeed" => {
                    walk.succeeded = true;
                    return walk;
                }
                "Fail" => return walk,
                "Task" => {
                    walk.visited.push(current.clone());
                    task(backend, definition, &walk.state, &context).await
                }
                "Map" => {
                    walk.visited.push(current.clone());
                    map(
                        backend,
                        &current,
                        definition,
                        &walk.state,
                        &context,
                        &mut walk.children,
                    )
                    .await
                }
                other => panic!("state type {other} is not interpreted"),
            };
            match outcome {
                Ok(result) => {
                    let result = match definition.get("ResultSelector") {
                        Some(selector) => template(selector, &result, &context),
                        None => result,
                    };
                    apply_result_path(&mut walk.state, definition.get("ResultPath"), result);
                    match definition.get("Next") {
                        Some(next) => current = next.as_str().unwrap().to_string(),
                        None => {
                            assert_eq!(definition["End"], true, "{current}");
                            walk.succeeded = true;
                            return walk;
                        }
                    }
                }
                Err(caught) => {
                    let error = caught["Error"].as_str().unwrap().to_string();
                    let catcher = definition["Catch"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|c| matches(&c["ErrorEquals"], &error));
                    let Some(catcher) = catcher else {
                        walk.state = caught;
                        return walk;
                    };
                    apply_result_path(&mut walk.state, catcher.get("ResultPath"), caught);
                    current = catcher["Next"].as_str().unwrap().to_string();
                }
            }
        }
    })
}

/// A Task state: its resource called with its parameters, retried as its
/// `Retry` says (without waiting).
async fn task(
    backend: &dyn Backend,
    definition: &Value,
    state: &Value,
    context: &Value,
) -> Result<Value, Caught> {
    let parameters = template(&definition["Parameters"], state, context);
    let resource = definition["Resource"].as_str().unwrap();
    let mut attempts: Vec<u64> = vec![0; definition["Retry"].as_array().map_or(0, Vec::len)];
    loop {
        let result = match resource {
            "arn:aws:states:::lambda:invoke" => backend
                .invoke(
                    parameters["FunctionName"].as_str().unwrap(),
                    parameters["Payload"].clone(),
                )
                .await
                .map(|payload| json!({ "Payload": payload, "StatusCode": 200 })),
            "arn:aws:states:::states:startExecution.sync:2" => {
                backend
                    .start_execution_sync(
                        parameters["StateMachineArn"].as_str().unwrap(),
                        parameters["Name"].as_str().unwrap(),
                        parameters["Input"].clone(),
                        context["Execution"]["Id"].as_str().unwrap(),
                    )
                    .await
            }
            other => panic!("Task resource {other} is not interpreted"),
        };
        let Err(caught) = result else {
            return result;
        };
        let error = caught["Error"].as_str().unwrap();
        let retrier = definition["Retry"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .find(|(_, r)| matches(&r["ErrorEquals"], error));
        match retrier {
            Some((index, retry))
                if attempts[index] < retry["MaxAttempts"].as_u64().unwrap_or(3) =>
            {
                attempts[index] += 1;
            }
            _ => return Err(caught),
        }
    }
}

/// A Map state.
async fn map(
    backend: &dyn Backend,
    name: &str,
    definition: &Value,
    state: &Value,
    context: &Value,
    children: &mut Vec<Walk>,
) -> Result<Value, Caught> {
    let items = match definition.get("ItemReader") {
        Some(reader) => {
            assert_eq!(reader["Resource"], "arn:aws:states:::s3:getObject");
            assert_eq!(reader["ReaderConfig"]["InputType"], "JSON");
            let parameters = template(&reader["Parameters"], state, context);
            backend
                .get_object(
                    parameters["Bucket"].as_str().unwrap(),
                    parameters["Key"].as_str().unwrap(),
                )
                .await
        }
        None => path(
            definition["ItemsPath"].as_str().unwrap_or("$"),
            state,
            context,
        ),
    };
    let Value::Array(items) = items else {
        return Err(
            json!({"Error": "States.ItemReaderFailed", "Cause": "the items are not a JSON array"}),
        );
    };
    let processor = definition
        .get("ItemProcessor")
        .or_else(|| definition.get("Iterator"))
        .unwrap();
    let distributed = processor["ProcessorConfig"]["Mode"] == "DISTRIBUTED";
    // MaxConcurrency 0 (or absent) means as many as possible.
    let concurrency = match definition["MaxConcurrency"].as_u64() {
        Some(n) if n > 0 => usize::try_from(n).unwrap(),
        _ => items.len().max(1),
    };
    let parent = context["Execution"]["Id"].as_str().unwrap().to_string();
    let inputs: Vec<(usize, Value)> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let item_context = json!({
                "Execution": context["Execution"],
                "Map": { "Item": { "Index": index, "Value": item } },
            });
            let input = match definition
                .get("ItemSelector")
                .or_else(|| definition.get("Parameters"))
            {
                Some(selector) => template(selector, state, &item_context),
                None => item.clone(),
            };
            (index, input)
        })
        .collect();
    let mut walks = Vec::new();
    for chunk in inputs.chunks(concurrency) {
        let runs = chunk.iter().map(|(index, input)| {
            // A distributed Map's items are child workflow executions of a map run.
            let id = if distributed {
                format!("{parent}/{name}:{index}")
            } else {
                parent.clone()
            };
            run(backend, processor, input.clone(), id)
        });
        walks.extend(join_all(runs).await);
    }
    let failed = walks.iter().filter(|w| !w.succeeded).count();
    let tolerated = definition["ToleratedFailurePercentage"]
        .as_f64()
        .unwrap_or(0.0);
    let results: Vec<Value> = walks.iter().map(|w| w.state.clone()).collect();
    if distributed {
        children.extend(walks);
    }
    #[allow(clippy::cast_precision_loss)]
    let percentage = if items.is_empty() {
        0.0
    } else {
        failed as f64 * 100.0 / items.len() as f64
    };
    if failed > 0 && percentage > tolerated {
        return Err(json!({
            "Error": "States.ExceedToleratedFailureThreshold",
            "Cause": format!("{failed} of {} items failed", items.len()),
        }));
    }
    Ok(Value::Array(results))
}
