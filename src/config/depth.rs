//! A nesting-depth pre-check of configuration text, run before the YAML deserializer.
//!
//! libyaml's scanner does work proportional to the flow nesting depth (`[`, `{`) for every
//! token, and the deserializer loads every event before it applies its own recursion limit:
//! 40 KB of `[` took seconds to reject and 200 KB never finished. This pass runs the same
//! libyaml event parser but stops at the first node deeper than [`MAX_DEPTH`], so the work is
//! linear in the input; a configuration is never more than about ten levels deep.

use std::mem::MaybeUninit;

use libyaml_rs as sys;

/// Deeper nesting than this is refused. KubeVirt's configuration is about ten levels deep.
pub(crate) const MAX_DEPTH: usize = 64;

/// Where (0-based line and column) the nesting first exceeds [`MAX_DEPTH`]; `None` when it
/// never does, or when the text is not valid YAML before that point (the deserializer then
/// reports the syntax error itself).
pub(crate) fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut parser = MaybeUninit::<sys::yaml_parser_t>::uninit();
    let parser = parser.as_mut_ptr();
    // SAFETY: the parser is initialized before use and deleted on every path below; the
    // input string outlives it; every event the parser fills in is deleted after reading
    // its type and start mark.
    unsafe {
        if sys::yaml_parser_initialize(parser).fail {
            return None;
        }
        sys::yaml_parser_set_encoding(parser, sys::YAML_UTF8_ENCODING);
        sys::yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as u64);
        let mut depth = 0usize;
        let mut found = None;
        loop {
            let mut event = MaybeUninit::<sys::yaml_event_t>::uninit();
            let event = event.as_mut_ptr();
            if sys::yaml_parser_parse(parser, event).fail {
                break;
            }
            let kind = (*event).type_;
            let mark = (*event).start_mark;
            sys::yaml_event_delete(event);
            match kind {
                sys::YAML_SEQUENCE_START_EVENT | sys::YAML_MAPPING_START_EVENT => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        found = Some((mark.line as usize, mark.column as usize));
                        break;
                    }
                }
                sys::YAML_SEQUENCE_END_EVENT | sys::YAML_MAPPING_END_EVENT => {
                    depth = depth.saturating_sub(1)
                }
                sys::YAML_STREAM_END_EVENT => break,
                _ => {}
            }
        }
        sys::yaml_parser_delete(parser);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        assert_eq!(too_deep("a: [b, {c: [d]}]\ne:\n  - f: g\n"), None);
        assert_eq!(
            too_deep(&format!(
                "a: {}{}",
                "[".repeat(MAX_DEPTH - 1),
                "]".repeat(MAX_DEPTH - 1)
            )),
            None
        );
        assert_eq!(too_deep("a: [unclosed"), None);
    }

    /// Issue 12 item 5: megabytes of `[` or `{` are refused after MAX_DEPTH of them.
    #[test]
    fn absurd_nesting_is_found_at_its_position() {
        let flow = format!("a: {}", "[".repeat(1_000_000));
        // The top mapping is level 1.
        assert_eq!(too_deep(&flow), Some((0, 2 + MAX_DEPTH)));
        let maps = format!("x:\n  {}", "{a: ".repeat(300_000));
        assert_eq!(too_deep(&maps).map(|p| p.0), Some(1));
        let block: String = (0..200)
            .map(|i| format!("{}- \n", "  ".repeat(i)))
            .collect();
        assert!(too_deep(&block).is_some());
    }
}
