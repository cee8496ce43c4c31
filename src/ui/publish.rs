//! The timeline's front end on the capture side: builds the screen's picture from the session
//! and publishes it, immutable, for the view to draw whenever it likes.
//!
//! Two copies take turns: the view draws the newest while the next build updates the one
//! before it (kept current by its own build state). A copy the view still holds is not built
//! on: the view has not taken the newest yet, so a build now would be drawn by nobody.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::model::{Builder, Built};
use super::pace::{Pace, Source};
use crate::analysis::Analyzer;
use crate::engine::Speed;
use crate::engine::{Front, Shared, Why};

pub struct Publisher {
    analyzer: Analyzer,
    builder: Builder,
    tx: watch::Sender<Arc<Built>>,
    /// The copy the next build updates.
    spare: Option<Arc<Built>>,
    pace: Pace,
    started: Instant,
    /// Packets in the session, and whether it had ended, at the last build.
    built: Option<(u64, bool)>,
    builds: u64,
}

impl Publisher {
    /// A publisher, and what the view reads its builds from.
    pub fn new(analyzer: Analyzer) -> (Publisher, watch::Receiver<Arc<Built>>) {
        let (tx, rx) = watch::channel(Arc::new(Built::default()));
        let p = Publisher {
            analyzer,
            builder: Builder::new(None),
            tx,
            spare: Some(Arc::new(Built::default())),
            pace: Pace::default(),
            started: Instant::now(),
            built: None,
            builds: 0,
        };
        (p, rx)
    }

    /// `--process NAMES`: only these processes' flows, and the DNS answers they used, are
    /// built (see [`Builder::only_processes`]); none: every flow.
    pub fn only_processes(&mut self, names: &[String]) {
        self.builder = Builder::new(None).only_processes(names);
    }
}

impl Front for Publisher {
    fn update(&mut self, shared: &mut Shared, why: Why) -> anyhow::Result<()> {
        let s = &shared.session;
        let news = self.built != Some((s.stats.packets, shared.status.finished));
        if !news {
            return Ok(());
        }
        let source = Source {
            finished: shared.status.finished,
            loading: shared.status.speed == Some(Speed::Max) && !shared.status.live,
            read: shared.status.read_bytes,
            total: shared.status.total_bytes,
            flows: s.flows().len(),
        };
        if !self.pace.due(self.started.elapsed(), source) {
            return Ok(());
        }
        let Some(mut spare) = self.spare.take() else { return Ok(()) };
        // The end is built even while the view holds the spare: then on a copy of it.
        if why != Why::End && Arc::get_mut(&mut spare).is_none() {
            self.spare = Some(spare);
            return Ok(());
        }
        let began = Instant::now();
        let m = Arc::make_mut(&mut spare);
        self.builder.update(m, shared, &self.analyzer);
        // Each copy counts its own builds; the view needs one count across both.
        self.builds += 1;
        m.version = self.builds;
        self.pace.built(self.started.elapsed(), began.elapsed(), spare.flows.len());
        self.built = Some((shared.session.stats.packets, shared.status.finished));
        self.spare = Some(self.tx.send_replace(spare));
        Ok(())
    }
}
