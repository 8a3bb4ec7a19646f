"""The exhaustive reference of the visit engine (bookings/visits.py): every placement the rules allow."""

from __future__ import annotations

from itertools import permutations


def earliest_end(planner, grid, arrival: int) -> int | None:
    """The earliest end unit of any placement of `planner`'s visit arriving at `arrival` (None: none fits),
    trying every order of the persons in every part and every counter and start the rules allow."""
    best: list[int | None] = [None]
    parts = planner.parts

    def visit(index, waiting, busy, last_end, ready, end_so_far):
        if best[0] is not None and end_so_far >= best[0]:
            return
        if index == len(parts):
            best[0] = end_so_far
            return
        if waiting is None:
            for order in permutations(parts[index].persons):
                visit(index, list(order), busy, last_end, ready, end_so_far)
            return
        if not waiting:
            visit(index + 1, None, busy, last_end, ready, end_so_far)
            return
        person, rest = waiting[0], waiting[1:]
        length = planner.units[index]
        for counter_id in planner.counters[index]:
            mask = busy.get(counter_id, 0)
            if person in ready:
                starts = range(ready[person], ready[person] + planner.max_wait + 1)
            else:
                starts = [arrival] if counter_id not in last_end else [arrival, last_end[counter_id]]
            for start in starts:
                if grid.fits(counter_id, start, length, mask):
                    end = start + length
                    visit(
                        index,
                        rest,
                        {**busy, counter_id: mask | (((1 << length) - 1) << start)},
                        {**last_end, counter_id: max(last_end.get(counter_id, end), end)},
                        {**ready, person: end},
                        max(end_so_far, end),
                    )

    visit(0, None, {}, {}, {}, arrival)
    return best[0]
