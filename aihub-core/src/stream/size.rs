//! The size limit of one SSE event, enforced on the bytes before the SSE parser buffers them.

use crate::error::{Error, ErrorDetail};

/// Counts the bytes of the SSE event being received; an event ends at an empty line
/// (`\n`, `\r` or `\r\n` twice in a row).
#[derive(Debug, Clone)]
pub(super) struct EventSize {
    max: usize,
    /// Bytes of the event so far (line terminators not counted).
    current: usize,
    /// The last byte was a line terminator (the next one ends the event).
    at_line_start: bool,
    /// The last byte was `\r` (a following `\n` belongs to it).
    after_cr: bool,
}

impl EventSize {
    /// A counter allowing events of up to `max` bytes.
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            current: 0,
            at_line_start: true,
            after_cr: false,
        }
    }

    /// Feeds the next bytes; an error once the event being received exceeds the limit.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<(), Error> {
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    if self.at_line_start {
                        self.current = 0;
                    }
                    self.at_line_start = true;
                    self.after_cr = b == b'\r';
                }
                _ => {
                    self.at_line_start = false;
                    self.after_cr = false;
                    self.current += 1;
                    if self.current > self.max {
                        return Err(too_large(self.max));
                    }
                }
            }
        }
        Ok(())
    }
}

fn too_large(max: usize) -> Error {
    Error::InvalidResponse(ErrorDetail {
        message: format!(
            "an event of the upstream stream is larger than the limit of {max} bytes (max_event_bytes)"
        ),
        code: Some("event_too_large".to_owned()),
        ..ErrorDetail::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_event_whatever_the_line_endings() {
        for sep in ["\n\n", "\r\r", "\r\n\r\n"] {
            let mut s = EventSize::new(10);
            let text = format!("data: 1234{sep}data: 5678{sep}");
            assert!(s.feed(text.as_bytes()).is_ok(), "{sep:?}");
            let mut s = EventSize::new(10);
            let nl = &sep[..sep.len() / 2];
            let text = format!("data: 12{nl}data: 34{sep}");
            assert!(
                s.feed(text.as_bytes()).is_err(),
                "{sep:?}: 16 bytes in one event"
            );
        }
    }

    #[test]
    fn a_crlf_split_across_reads_is_one_line_end() {
        let mut s = EventSize::new(12);
        s.feed(b"data: 123\r").unwrap();
        s.feed(b"\ndata: 4").unwrap_err();
    }
}
