//! The JSON Schema of the lesson format, for editors (`archsim schema --lesson`). Its keys
//! are the reader's own lists, so the two cannot drift apart.

use serde_json::{Map, Value, json};

use super::read::{BRANCH_KEYS, CHECK_KEYS, CHOICE_KEYS, LESSON_KEYS, QUESTION_KEYS, STEP_KEYS};

fn describe(key: &str) -> Value {
    let text = |d: &str| json!({ "type": "string", "description": d });
    match key {
        "title" => text("Shown as the heading."),
        "summary" => text("One or two sentences for the list of lessons."),
        "steps" => json!({ "type": "array", "minItems": 1, "items": { "$ref": "#/$defs/step" } }),
        "id" => text("Unique within the lesson; `next`, `base` and branches name steps by it."),
        "text" => text("The narrative: a few sentences of Markdown."),
        "model" => text("The step's model file, relative to the lesson file."),
        "base" => text("Build on this earlier step's model instead (default: the step before)."),
        "patch" => json!({
            "type": "object",
            "description": "Changes to the base model, as a scenario's `set` and `faults`.",
            "properties": { "set": { "type": "object" }, "faults": { "type": "array" }, "description": { "type": "string" } },
            "additionalProperties": false
        }),
        "pause_at" => {
            text("Where the run pauses for the checks, e.g. 230s [default: the model's duration].")
        }
        "question" => json!({ "$ref": "#/$defs/question" }),
        "checks" => json!({ "type": "array", "items": { "anyOf": [
            { "type": "string", "description": super::check::HELP },
            { "$ref": "#/$defs/check" }
        ] } }),
        "highlight" => {
            json!({ "type": "array", "items": { "type": "string" }, "description": "Components to draw attention to." })
        }
        "next" => json!({ "anyOf": [
            { "type": "string", "description": "A step id, or `end`." },
            { "type": "array", "minItems": 2, "items": { "$ref": "#/$defs/branch" } }
        ] }),
        "ask" => text("The question, asked before the run goes on."),
        "choices" => {
            json!({ "type": "array", "minItems": 2, "items": { "$ref": "#/$defs/choice" } })
        }
        "answer" => text("One answer the learner may pick."),
        "right" => json!({ "type": "boolean", "default": false }),
        "why" => text("Why this answer is right or wrong, shown once answered."),
        "choice" => text("The choice, as the learner reads it."),
        "step" => text("The step it leads to."),
        "expect" => text(super::check::HELP),
        "says" => text("What the check shows, in words."),
        _ => json!({}),
    }
}

fn object(keys: &[&str], required: &[&str]) -> Value {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|k| ((*k).to_string(), describe(k)))
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

/// The schema (JSON Schema draft-07) of a lesson file.
#[must_use]
pub fn json_schema() -> Value {
    let mut root = object(&LESSON_KEYS, &["title", "steps"]);
    root["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    root["title"] = json!("archsim lesson");
    root["$defs"] = json!({
        "step": object(&STEP_KEYS, &["id", "title", "text"]),
        "question": object(&QUESTION_KEYS, &["ask", "choices"]),
        "choice": object(&CHOICE_KEYS, &["answer", "why"]),
        "branch": object(&BRANCH_KEYS, &["choice", "step"]),
        "check": object(&CHECK_KEYS, &["expect"]),
    });
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_the_reader_knows_is_described() {
        for keys in [
            &LESSON_KEYS[..],
            &STEP_KEYS,
            &QUESTION_KEYS,
            &CHOICE_KEYS,
            &BRANCH_KEYS,
            &CHECK_KEYS,
        ] {
            for k in keys {
                assert_ne!(describe(k), json!({}), "`{k}` has no description");
            }
        }
    }
}
