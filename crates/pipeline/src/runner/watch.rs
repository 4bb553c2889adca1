//! Dynamic training: [`Pipeline::watch`] runs the pipeline again whenever
//! new spans arrive (or on a fixed period). Every run starts from the files
//! under the pipeline root, so stopping and restarting the watcher loses
//! nothing; runs with nothing new are fully cached.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::{Pipeline, RunRecord};
use crate::PipelineError;

/// When [`Pipeline::watch`] runs.
///
/// ```
/// use std::time::Duration;
/// let on_new_data = mlrig_pipeline::WatchOptions::default();
/// assert_eq!(on_new_data.every, None);
/// let hourly = mlrig_pipeline::WatchOptions::default().with_every(Duration::from_secs(3600));
/// assert_eq!(hourly.every, Some(Duration::from_secs(3600)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchOptions {
    /// Run every period whether or not spans changed (cached steps make an
    /// unchanged run cheap; the rollback check runs each time). `None`: run
    /// when the spans of the window change, checked every `watch.poll_interval`.
    pub every: Option<Duration>,
}

impl WatchOptions {
    /// Runs every `period` instead of on new data.
    #[must_use]
    pub fn with_every(mut self, period: Duration) -> Self {
        self.every = Some(period);
        self
    }
}

/// What identifies the window's files between polls: their paths, sizes
/// and modification times (no hashing until a run needs it).
type SpanStamp = Vec<(PathBuf, u64, Option<SystemTime>)>;

impl Pipeline {
    /// Runs the pipeline at once and then whenever the window's spans change
    /// (or every `options.every`), calling `on_run` with each run's result;
    /// between runs, with `rollback.monitoring_url` set, it also runs the
    /// rollback check on each poll ([`Pipeline::check_rollback`]);
    /// stops when `on_run` returns [`ControlFlow::Break`]. A failed run is
    /// reported to `on_run` and the watch goes on.
    ///
    /// ```no_run
    /// use std::ops::ControlFlow;
    /// let pipeline = mlrig_pipeline::Pipeline::from_config("mlrig.toml")?;
    /// pipeline.watch(&mlrig_pipeline::WatchOptions::default(), |run| {
    ///     match run {
    ///         Ok(record) => println!("{:?}", record.outcome),
    ///         Err(e) => eprintln!("run failed: {e}"),
    ///     }
    ///     ControlFlow::Continue(())
    /// })?;
    /// # Ok::<(), mlrig_pipeline::PipelineError>(())
    /// ```
    ///
    /// # Errors
    /// A zero period; the runs report their own errors to `on_run`.
    pub fn watch(
        &self,
        options: &WatchOptions,
        mut on_run: impl FnMut(&Result<RunRecord, PipelineError>) -> ControlFlow<()>,
    ) -> Result<(), PipelineError> {
        let poll = options.every.unwrap_or(self.config.watch.poll_interval);
        if poll.is_zero() {
            return Err(PipelineError::InvalidOption {
                option: "every".into(),
                reason: "expected a positive period, found 0".into(),
            });
        }
        let mut last: Option<SpanStamp> = None;
        loop {
            let started = Instant::now();
            let stamp = self.span_stamp();
            let due = options.every.is_some() || last.as_ref() != Some(&stamp);
            let flow = if due {
                let result = self.run();
                // After a rollback, train on the window at once, against the
                // version serving again.
                let rolled_back = result
                    .as_ref()
                    .is_ok_and(|r| matches!(r.outcome, super::RunOutcome::RolledBack { .. }));
                last = (!rolled_back).then_some(stamp);
                on_run(&result)
            } else if self.config.rollback.monitoring_url.is_some() {
                // Live monitoring can flag a version before new data arrives.
                match self.check_rollback().transpose() {
                    Some(rolled_back) => {
                        if rolled_back.is_ok() {
                            last = None;
                        }
                        on_run(&rolled_back)
                    }
                    None => ControlFlow::Continue(()),
                }
            } else {
                ControlFlow::Continue(())
            };
            if flow.is_break() {
                return Ok(());
            }
            std::thread::sleep(poll.saturating_sub(started.elapsed()));
        }
    }

    /// The window's files as they are now; an unreadable pattern gives an
    /// empty stamp (the run then reports the error).
    fn span_stamp(&self) -> SpanStamp {
        self.config
            .spans(&self.base)
            .unwrap_or_default()
            .into_iter()
            .map(|path| {
                let meta = std::fs::metadata(&path).ok();
                let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
                let modified = meta.and_then(|m| m.modified().ok());
                (path, len, modified)
            })
            .collect()
    }
}
