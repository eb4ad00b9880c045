//! What user text may contain: names and messages must show something (not
//! only whitespace and invisible format characters), and hold no control
//! characters (a message may break lines and tab).

/// Characters that render as nothing: zero-width spaces and joiners, word
/// joiners, bidirectional controls, the byte-order mark, the soft hyphen,
/// and the "blank" letters used to fake an empty name (Hangul fillers,
/// the braille blank).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}'
        | '\u{034f}'
        | '\u{115f}'..='\u{1160}'
        | '\u{17b4}'..='\u{17b5}'
        | '\u{180b}'..='\u{180f}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{2800}'
        | '\u{3164}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{feff}'
        | '\u{ffa0}'
    )
}

/// Whether `s` shows at least one character.
pub fn visible(s: &str) -> bool {
    s.chars()
        .any(|c| !c.is_whitespace() && !invisible(c) && !c.is_control())
}

/// The first control character of a name (none allowed).
pub fn name_control(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

/// The first control character of a message other than line feed,
/// carriage return and tab.
pub fn message_control(s: &str) -> Option<char> {
    s.chars()
        .find(|&c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_text_is_not_visible_and_controls_are_found() {
        assert!(!visible(""));
        assert!(!visible(" \u{200b}\u{200d}\u{feff}\u{3164}\u{2800}\n"));
        assert!(visible("a\u{200b}"));
        assert!(visible("👩\u{200d}💻"), "an emoji sequence shows");
        assert_eq!(name_control("a\u{0}b"), Some('\u{0}'));
        assert_eq!(name_control("tab\tname"), Some('\t'));
        assert_eq!(message_control("two\nlines\tand tab"), None);
        assert_eq!(message_control("bell\u{7}"), Some('\u{7}'));
        assert_eq!(message_control("del\u{7f}"), Some('\u{7f}'));
    }
}
