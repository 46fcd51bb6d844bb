"""Say what a truth that trains will cost before it trains (issue: a ``kind: train`` truth used to start training
without a word)."""

from __future__ import annotations

from typing import Any

from nasaudit.studies._base import Scored, StudyContext


def announce_training(context: StudyContext, truth_name: str, truth: Scored, archs: list[Any], what: str) -> None:
    """Before a truth that trains (``kind: train``) scores ``archs``, say what it will cost: architectures x
    seeds x epochs, and how many of those runs the store already holds."""
    from nasaudit.truth.trained import TrainedEvaluator
    from nasaudit.weight_sharing.setup import build_epochs

    if not isinstance(truth.evaluator, TrainedEvaluator) or not archs:
        return
    jobs = truth.evaluator.jobs(archs)
    done = context.store.done_ids(jobs[0].table, [job.job_id for job in jobs])
    build = truth.evaluator.build
    n_archs = len(jobs) // len(build.seeds)
    context.console.print(
        f"truth {truth_name!r} trains {what} from scratch: {n_archs} architectures x {len(build.seeds)} seeds x "
        f"{build_epochs(build)} epochs ({build.protocol} on {build.dataset}) = {len(jobs)} runs, "
        f"{len(jobs) - len(done)} not yet in the store", highlight=False, markup=False)
