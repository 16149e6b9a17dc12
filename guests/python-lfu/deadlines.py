"""An indexed binary min-heap of entry deadlines.

Each entry records its own position (`heap_index`), so removing any entry is
O(log n) and `sweep` pops only expired entries: its work is bounded by `max`,
as the contract asks, with no stale heap items to skip.
"""


class Deadlines:
    """Entries that have a deadline, earliest first; ties in put order (`seq`)."""

    def __init__(self):
        self._heap = []

    def __len__(self):
        return len(self._heap)

    def clear(self):
        for entry in self._heap:
            entry.heap_index = -1
        self._heap = []

    def earliest(self):
        """The entry with the earliest deadline, or None."""
        return self._heap[0] if self._heap else None

    def push(self, entry):
        entry.heap_index = len(self._heap)
        self._heap.append(entry)
        self._up(entry.heap_index)

    def remove(self, entry):
        """Removes `entry`, if it is in the heap."""
        index = entry.heap_index
        if index < 0:
            return
        entry.heap_index = -1
        last = self._heap.pop()
        if index < len(self._heap):
            self._heap[index] = last
            last.heap_index = index
            self._down(index)
            self._up(last.heap_index)

    @staticmethod
    def _before(a, b):
        return (a.deadline, a.seq) < (b.deadline, b.seq)

    def _swap(self, i, j):
        heap = self._heap
        heap[i], heap[j] = heap[j], heap[i]
        heap[i].heap_index = i
        heap[j].heap_index = j

    def _up(self, i):
        while i > 0:
            parent = (i - 1) // 2
            if not self._before(self._heap[i], self._heap[parent]):
                break
            self._swap(i, parent)
            i = parent

    def _down(self, i):
        n = len(self._heap)
        while True:
            smallest = i
            for child in (2 * i + 1, 2 * i + 2):
                if child < n and self._before(self._heap[child], self._heap[smallest]):
                    smallest = child
            if smallest == i:
                return
            self._swap(i, smallest)
            i = smallest
