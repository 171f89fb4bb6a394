"""RQ entry points: thin, id-based, safe to run twice."""

from copies.events import acting_as


def run_recurring_order_copies(copy_ids: list[str]) -> dict[str, int]:
    """Run a batch of copies; copies that are no longer pending are skipped."""
    from copies.services import recurring_order_copies_run

    with acting_as({"kind": "worker"}):
        report = recurring_order_copies_run(copy_ids)
    return vars(report)
