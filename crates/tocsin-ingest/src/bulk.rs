//! Elasticsearch `_bulk` bodies: action lines and their documents, read
//! as Elasticsearch reads them. A parser of what any sender with a key
//! writes, kept apart so it can be fuzzed on its own.

use serde_json::Value as J;

/// One operation of a `_bulk` body.
#[derive(Debug)]
pub enum Op<'b> {
    /// `index` or `create`, with its document.
    Doc {
        /// `index` or `create`.
        op: String,
        /// The action's `_index`.
        index: J,
        /// The document's line.
        line: usize,
        /// The document, as sent.
        doc: &'b [u8],
    },
    /// `delete`: answered as not found (Tocsin deletes nothing).
    Delete {
        /// The action's `_index`.
        index: J,
    },
    /// `update` (its document skipped): not supported.
    Unsupported {
        /// The action.
        op: String,
        /// The action's `_index`.
        index: J,
        /// The action's line.
        line: usize,
    },
}

/// Reads a `_bulk` body as Elasticsearch does: an action line, then the
/// document for `index`, `create` and `update`. A malformed action line
/// fails the whole request with its line number, so no document is ever
/// read as an action and nothing is half-accepted.
pub fn bulk_ops(data: &[u8]) -> Result<Vec<Op<'_>>, (usize, String)> {
    let mut ops = Vec::new();
    let mut lines = data
        .split(|c| *c == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_ascii().is_empty());
    while let Some((no, line)) = lines.next() {
        let action: serde_json::Map<String, J> = serde_json::from_slice(line).map_err(|e| {
            (
                no,
                format!("Malformed action/metadata line [{no}], expected a JSON object: {e}"),
            )
        })?;
        let mut it = action.into_iter();
        let (Some((op, meta)), None) = (it.next(), it.next()) else {
            return Err((
                no,
                format!("Malformed action/metadata line [{no}], expected exactly one action"),
            ));
        };
        if !meta.is_object() {
            return Err((
                no,
                format!(
                    "Malformed action/metadata line [{no}], the action's metadata is not an object"
                ),
            ));
        }
        let index = meta.get("_index").cloned().unwrap_or(J::Null);
        match op.as_str() {
            "index" | "create" => {
                let (_, doc) = lines.next().ok_or_else(|| {
                    (
                        no,
                        format!("Validation Failed: line [{no}]: `{op}` without a document"),
                    )
                })?;
                ops.push(Op::Doc {
                    op,
                    index,
                    line: no + 1,
                    doc: doc.trim_ascii(),
                });
            }
            "delete" => ops.push(Op::Delete { index }),
            "update" => {
                let _ = lines.next();
                ops.push(Op::Unsupported {
                    op,
                    index,
                    line: no,
                });
            }
            other => {
                return Err((
                    no,
                    format!(
                        "Malformed action/metadata line [{no}], expected one of [create, delete, index, update] but found [{other}]"
                    ),
                ));
            }
        }
    }
    Ok(ops)
}
