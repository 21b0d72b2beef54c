//! The concurrent executor: runs the steps of a plan on an inter-op thread pool as soon as their inputs
//! are ready (TF's `executor.cc` ready queue), for graphs with independent branches.

use crate::execution_plan::ExecutionPlan;
use crate::kernel::OpKernelContext;
use ferroflow_core::{Error, Result, Tensor};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

/// What each finished step reports, for tracing: (step, start, duration, outputs).
pub(crate) type StepTrace = (u32, std::time::SystemTime, std::time::Duration, Vec<Tensor>);

/// Runs every step of `plan` on `pool`, starting from the fed `values`; returns the slot values.
pub(crate) fn execute_concurrently(
    plan: &ExecutionPlan,
    values: Vec<Option<Tensor>>,
    pool: &rayon::ThreadPool,
    intra_threads: usize,
    deadline: Option<Instant>,
    trace: bool,
    node_error: &(dyn Fn(Error, u32) -> Error + Sync),
) -> Result<(Vec<Option<Tensor>>, Vec<StepTrace>)> {
    let slots: Vec<Mutex<Option<Tensor>>> = values.into_iter().map(Mutex::new).collect();
    let remaining_reads: Vec<AtomicU32> = plan.slot_reads.iter().map(|&n| AtomicU32::new(n)).collect();
    let pending: Vec<AtomicU32> = plan.predecessor_counts.iter().map(|&n| AtomicU32::new(n)).collect();
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let traces: Mutex<Vec<StepTrace>> = Mutex::new(Vec::new());
    let fail = |e: Error| {
        failed.store(true, Ordering::SeqCst);
        first_error.lock().get_or_insert(e);
    };

    let run_step = |index: u32| -> Result<()> {
        if failed.load(Ordering::SeqCst) {
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Err(Error::deadline_exceeded("Timed out waiting for the step to finish"));
        }
        let step = plan.steps.get(index as usize).ok_or_else(|| Error::internal("step out of range"))?;
        let mut inputs = Vec::with_capacity(step.inputs.len());
        for &(slot, _) in &step.inputs {
            let s = slot as usize;
            // Count the read under the slot's lock: counted outside, an earlier reader could still be
            // waiting for the lock when the last one takes the value, and find the slot empty.
            let mut cell = slots[s].lock();
            let last = remaining_reads[s].fetch_sub(1, Ordering::AcqRel) == 1;
            let t = if last { cell.take() } else { cell.clone() };
            inputs.push(t.ok_or_else(|| Error::internal(format!("input slot {slot} is empty")))?);
        }
        let mut outputs = Vec::with_capacity(step.outputs.len());
        let start = trace.then(std::time::SystemTime::now);
        let t0 = Instant::now();
        let mut ctx = OpKernelContext { inputs: &mut inputs, outputs: &mut outputs, threads: intra_threads };
        step.kernel.compute(&mut ctx).map_err(|e| node_error(e, step.node))?;
        if outputs.len() != step.outputs.len() {
            return Err(Error::internal(format!(
                "kernel produced {} outputs, expected {}",
                outputs.len(),
                step.outputs.len()
            )));
        }
        if let Some(start) = start {
            traces.lock().push((step.node, start, t0.elapsed(), outputs.clone()));
        }
        for (slot, t) in step.outputs.iter().zip(outputs) {
            if let Some(s) = slot {
                *slots[*s as usize].lock() = Some(t);
            }
        }
        Ok(())
    };

    fn schedule<'s, F>(
        scope: &rayon::Scope<'s>,
        index: u32,
        plan: &'s ExecutionPlan,
        pending: &'s [AtomicU32],
        run_step: &'s F,
        fail: &'s (dyn Fn(Error) + Sync),
    ) where
        F: Fn(u32) -> Result<()> + Sync,
    {
        scope.spawn(move |scope| {
            if let Err(e) = run_step(index) {
                fail(e);
                return;
            }
            for &next in plan.successors.get(index as usize).map_or(&[][..], Vec::as_slice) {
                if pending[next as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                    schedule(scope, next, plan, pending, run_step, fail);
                }
            }
        });
    }

    pool.scope(|scope| {
        for (i, count) in plan.predecessor_counts.iter().enumerate() {
            if *count == 0 {
                schedule(scope, i as u32, plan, &pending, &run_step, &fail);
            }
        }
    });
    if let Some(e) = first_error.into_inner() {
        return Err(e);
    }
    Ok((slots.into_iter().map(Mutex::into_inner).collect(), traces.into_inner()))
}
