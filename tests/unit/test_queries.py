"""Page info (``philos.resolvers.queries._page_info``): cursors that walk the list with no gap
or overlap."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from philos.resolvers.queries import _page_info
from philos.types.paging import decode_cursor


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, int, int]:
    total = draw(st.integers(0, 10**6))
    offset = draw(st.integers(0, total))
    count = draw(st.integers(0, min(100, total - offset)))
    return offset, count, total


@given(windows())
def test_page_info_describes_the_window(window: tuple[int, int, int]) -> None:
    offset, count, total = window
    info = _page_info(offset, count, total)
    assert info.has_next_page == (offset + count < total)
    assert info.has_previous_page == (offset > 0)
    if count == 0:
        assert info.start_cursor is None and info.end_cursor is None
    else:
        assert info.start_cursor is not None and info.end_cursor is not None
        assert decode_cursor(info.start_cursor) == offset + 1
        # The next page starts just after this one's last item.
        assert decode_cursor(info.end_cursor) == offset + count


@given(st.integers(1, 50), st.integers(0, 500))
def test_following_end_cursors_visits_every_item_once(page: int, total: int) -> None:
    seen: list[int] = []
    offset = 0
    while True:
        count = min(page, total - offset)
        seen.extend(range(offset, offset + count))
        info = _page_info(offset, count, total)
        if not info.has_next_page:
            break
        assert info.end_cursor is not None
        offset = decode_cursor(info.end_cursor)
    assert seen == list(range(total))
