from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lineguard.callers.flags import Flag
from lineguard.callers.lists import CallerLists, ListEntry, ListName, MatchKind
from lineguard.callers.screening import Block, CallerScreen, Suppress

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
LISTS = CallerLists((ListEntry(ListName.BLOCK, MatchKind.PREFIX, "070"),
                     ListEntry(ListName.ALLOW, MatchKind.EXACT, "0701112222")))
FLAG = Flag("0105556666", "abuse", "c1", NOW, NOW + timedelta(days=30))


def screen(first_ring="pass", repeat="strict", seize=False):
    return CallerScreen(LISTS, first_ring, repeat, seize)


def test_first_ring_passes_then_a_blocked_caller_is_cut_off():
    s = screen()
    assert s.ring_started(NOW) == []
    assert s.caller_id("0709998888", NOW) == [Suppress(True), Block("0709998888", "block:prefix:070", False)]
    assert s.ring_started(NOW) == []          # keeps ringing: the phone stays disconnected
    assert s.ringing_over() == [Suppress(False)]


def test_ring_suppression_until_caller_id():
    s = screen(first_ring="suppress")
    assert s.ring_started(NOW) == [Suppress(True)]
    assert s.caller_id("0212345678", NOW) == [Suppress(False)]
    assert s.ring_started(NOW) == []
    s = screen(first_ring="suppress")
    s.ring_started(NOW)
    assert s.caller_id("0709998888", NOW) == [Block("0709998888", "block:prefix:070", False)]


def test_an_allowed_number_is_never_blocked_even_if_flagged():
    s = screen(repeat="block")
    s.ring_started(NOW)
    assert s.caller_id("0701112222", NOW, flagged=FLAG) == []


def test_no_caller_id_by_the_second_ring_is_withheld():
    lists = CallerLists((), withheld_policy="block")
    s = CallerScreen(lists, "pass", "strict", can_seize=True)
    s.ring_started(NOW)
    assert s.ring_started(NOW) == [Suppress(True), Block(None, "withheld_policy", True)]


def test_call_waiting_caller_id_is_not_screened_again():
    s = screen()
    s.ring_started(NOW)
    s.caller_id("0212345678", NOW)
    assert s.caller_id("0709998888", NOW) == []


def test_repeat_abuser_consequences():
    s = screen(repeat="block")
    s.ring_started(NOW)
    assert s.caller_id("0105556666", NOW, flagged=FLAG)[-1] == Block("0105556666", "repeat_abuser", False)
    assert screen(repeat="notice").treatment(FLAG).announce
    assert screen(repeat="strict").treatment(FLAG).strict
    assert screen(repeat="none").treatment(FLAG).flag is None
    assert screen().treatment(None).flag is None
