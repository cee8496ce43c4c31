//! Where a capture file's bytes come from, a block at a time. A file is read ahead on a thread
//! of its own, so the kernel's copy of the next block overlaps the decoding of this one; an
//! in-memory or test input is read in place. Either way blocks are recycled, not reallocated.

use std::io::{ErrorKind, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;

use tokio::sync::Notify;

/// Bytes asked of the input at once: few system calls, and small enough that the frames just
/// read are still in the CPU cache when they are decoded.
pub const BLOCK: usize = 512 * 1024;
/// Room left before each block's data for the unconsumed end of the block before it (one
/// record at most), so a record crossing two blocks is joined by copying only itself.
pub const HEAD: usize = 256 * 1024 + 64;
/// Blocks read ahead and not yet decoded.
const AHEAD: usize = 4;

/// A block of input: its bytes are `buf[HEAD..HEAD + len]`.
pub struct Block {
    pub buf: Vec<u8>,
    pub len: usize,
}

pub enum Blocks {
    /// Read on the caller's thread.
    Direct { input: Box<dyn Read + Send>, spare: Option<Vec<u8>>, ended: bool },
    /// Read ahead on a thread of its own.
    /// `peeked`: what [`Blocks::ready`] took off the channel (`Some(None)`: the end).
    Ahead {
        rx: Receiver<std::io::Result<Block>>,
        recycle: Sender<Vec<u8>>,
        peeked: Option<Option<std::io::Result<Block>>>,
    },
}

impl Blocks {
    pub fn direct(input: Box<dyn Read + Send>) -> Blocks {
        Blocks::Direct { input, spare: None, ended: false }
    }

    /// Reads `input` ahead on a new thread. The thread ends at the end of the input, at a
    /// read error (passed on), or when these `Blocks` are dropped.
    /// `wake` is told each time a block (or the end) is ready, so that an async reader awaits
    /// it instead of polling [`Blocks::ready`].
    pub fn ahead(input: Box<dyn Read + Send>, wake: Option<Arc<Notify>>) -> std::io::Result<Blocks> {
        let (tx, rx) = mpsc::sync_channel(AHEAD);
        let (recycle, recycled) = mpsc::channel();
        std::thread::Builder::new()
            .name("acrscope-read".into())
            .spawn(move || read_ahead(input, tx, &recycled, wake.as_deref()))?;
        Ok(Blocks::Ahead { rx, recycle, peeked: None })
    }

    /// The next block; `None` at the end of the input.
    pub fn next_block(&mut self) -> Option<std::io::Result<Block>> {
        match self {
            Blocks::Direct { input, spare, ended } => {
                if *ended {
                    return None;
                }
                let buf = spare.take().unwrap_or_default();
                match read_block(input.as_mut(), buf) {
                    Ok(b) if b.len == 0 => {
                        *ended = true;
                        None
                    }
                    Ok(b) => Some(Ok(b)),
                    Err(e) => {
                        *ended = true;
                        Some(Err(e))
                    }
                }
            }
            // A closed channel is the end: the thread has sent everything it read.
            Blocks::Ahead { rx, peeked, .. } => match peeked.take() {
                Some(p) => p,
                None => rx.recv().ok(),
            },
        }
    }

    /// Whether [`Blocks::next_block`] would answer at once (an in-place input always does).
    pub fn ready(&mut self) -> bool {
        match self {
            Blocks::Direct { .. } => true,
            Blocks::Ahead { rx, peeked, .. } => {
                if peeked.is_some() {
                    return true;
                }
                match rx.try_recv() {
                    Ok(b) => *peeked = Some(Some(b)),
                    Err(mpsc::TryRecvError::Disconnected) => *peeked = Some(None),
                    Err(mpsc::TryRecvError::Empty) => return false,
                }
                true
            }
        }
    }

    /// Gives a buffer back to be filled again.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        match self {
            Blocks::Direct { spare, .. } => *spare = Some(buf),
            Blocks::Ahead { recycle, .. } => {
                let _ = recycle.send(buf);
            }
        }
    }
}

/// Fills `buf` (resized to hold a block) with one read: a regular file gives a whole block,
/// a pipe gives what is there, so a live `tcpdump -w - |` is not held back. `len == 0`: the end.
fn read_block(input: &mut dyn Read, mut buf: Vec<u8>) -> std::io::Result<Block> {
    buf.resize(HEAD + BLOCK, 0);
    loop {
        match input.read(&mut buf[HEAD..]) {
            Ok(len) => return Ok(Block { buf, len }),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn read_ahead(
    mut input: Box<dyn Read + Send>,
    tx: SyncSender<std::io::Result<Block>>,
    recycled: &Receiver<Vec<u8>>,
    wake: Option<&Notify>,
) {
    loop {
        let buf = recycled.try_recv().unwrap_or_default();
        let r = read_block(input.as_mut(), buf);
        let last = !matches!(r, Ok(Block { len: 1.., .. }));
        if matches!(r, Ok(Block { len: 0, .. })) || tx.send(r).is_err() || last {
            break;
        }
        if let Some(w) = wake {
            w.notify_one();
        }
    }
    // The end is news too, once the channel is closed.
    drop(tx);
    if let Some(w) = wake {
        w.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives its bytes a few at a time, then fails once if asked to.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail_at_end: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.data.len() && self.fail_at_end {
                self.fail_at_end = false;
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn drain(mut b: Blocks) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        while let Some(r) = b.next_block() {
            match r {
                Ok(block) => {
                    out.extend_from_slice(&block.buf[HEAD..HEAD + block.len]);
                    b.recycle(block.buf);
                }
                Err(e) => return (out, Some(e.to_string())),
            }
        }
        (out, None)
    }

    #[test]
    fn both_ways_give_every_byte_in_order_then_the_error() {
        let data: Vec<u8> = (0..3 * BLOCK + 1234).map(|i| (i * 7 % 251) as u8).collect();
        for step in [1000, BLOCK, 2 * BLOCK] {
            for fail in [false, true] {
                let t = || Box::new(Trickle { data: data.clone(), at: 0, step, fail_at_end: fail });
                for (how, blocks) in [("direct", Blocks::direct(t())), ("ahead", Blocks::ahead(t(), None).unwrap())] {
                    let (got, err) = drain(blocks);
                    assert!(got == data, "{how}, step {step}: {} bytes of {}", got.len(), data.len());
                    assert_eq!(err.as_deref(), fail.then_some("disk on fire"), "{how}, step {step}");
                }
            }
        }
    }

    /// A reader that owns a token, so the test can see when the reading thread let go of it.
    struct Owned(std::io::Cursor<Vec<u8>>, #[allow(dead_code)] std::sync::Arc<()>);

    impl Read for Owned {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }

    #[test]
    fn dropping_the_reader_ends_its_thread() {
        let token = std::sync::Arc::new(());
        let input = Owned(std::io::Cursor::new(vec![0u8; 64 * BLOCK]), token.clone());
        let mut b = Blocks::ahead(Box::new(input), None).unwrap();
        assert_eq!(b.next_block().unwrap().unwrap().len, BLOCK);
        drop(b);
        // The thread was blocked on a full channel: it must notice the receiver is gone,
        // stop, and drop the input (and its token).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::sync::Arc::strong_count(&token) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(std::sync::Arc::strong_count(&token), 1, "the reading thread still holds its input");
    }
}
