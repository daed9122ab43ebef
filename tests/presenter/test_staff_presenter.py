"""Staff mode as a state machine: the PIN pad, the staff screen and its pages, what each press
asks the shell to do, what the results of those actions show, and staff mode closing itself.

NOW is 15:00 UTC on Monday 2026-11-23; TODAY is that Monday. Time moves only as an argument:
the helpers below pass the monotonic clock in step with the wall clock (`mono`), except where a
test sets the wall clock as NTP does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from kiosk.domain.loans import LoanRules
from kiosk.presenter import staff as core
from kiosk.presenter.staff import (
    MAX_DAYS,
    MAX_PIN,
    CheckPin,
    Facts,
    Job,
    Leave,
    Page,
    Press,
    Result,
    Run,
    StaffPress,
    StaffScreenView,
    StaffState,
    StatusLine,
    Update,
    on_drives,
    on_facts,
)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)  # a Monday
IDLE = timedelta(seconds=60)
SUNDAYS_CLOSED = LoanRules(closed_weekdays=frozenset({6}))

FACTS = Facts(
    lines=(
        StatusLine("Snapshot", "8 patrons, built 2026-11-23 06:00 (4.0 hours ago)"),
        StatusLine("Checkouts", "10 this period: 10 handed over, 0 not yet"),
    ),
    paused=False,
    period_checkouts=10,
    period_pending=0,
    retention_days=90,
)
PAUSED_FACTS = Facts(FACTS.lines, True, 10, 0, 90)
PENDING_FACTS = Facts(FACTS.lines, False, 10, 3, 90)
UNREADABLE_FACTS = Facts(FACTS.lines, False, None, 0, 90)
DRIVES = ("KINGSTON (sdb1)", "SANDISK (sdc1)")


# Helpers ----------------------------------------------------------------------------------------


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def mono(wall: datetime) -> timedelta:
    """The monotonic instant that goes with a wall time, while nobody sets the wall clock."""
    return wall - NOW


def open_pad(
    state: StaffState,
    now: datetime,
    locked_until: datetime | None,
    *,
    by_card: bool = False,
    cards: bool = False,
) -> StaffState:
    return core.open_pad(state, now, mono(now), locked_until, by_card=by_card, cards=cards)


def on_pin_result(
    state: StaffState, result: str, tries_left: int, locked_until: datetime | None, now: datetime
) -> Update:
    return core.on_pin_result(state, core.PinResult(result), tries_left, locked_until, mono(now))


def on_press(state: StaffState, what: StaffPress, arg: str, now: datetime) -> Update:
    return core.on_press(state, what, arg, mono(now))


def on_result(state: StaffState, job: Job, result: Result, now: datetime) -> Update:
    return core.on_result(state, job, result, mono(now))


def on_tick(state: StaffState, now: datetime, idle: timedelta) -> Update:
    return core.on_tick(state, now, mono(now), idle)


def view(
    state: StaffState, now: datetime, today: date, idle: timedelta, rules: LoanRules | None
) -> StaffScreenView:
    return core.view(state, mono(now), today, idle, rules)


def pad(now: datetime = NOW) -> StaffState:
    return open_pad(StaffState(), now, None)


def press(state: StaffState, what: StaffPress, arg: str = "", now: datetime = NOW) -> Update:
    return on_press(state, what, arg, now)


def typed(state: StaffState, digits: str, now: datetime = NOW) -> StaffState:
    for digit in digits:
        state = press(state, Press.DIGIT, digit, now).state
    return state


def signed_in(facts: Facts | None = FACTS, now: datetime = NOW) -> StaffState:
    """The staff screen after the right PIN, with the status read back (unless facts=None)."""
    checking = press(typed(pad(now), "2580", now), Press.OK, now=now).state
    home = on_pin_result(checking, "ok", 0, None, now).state
    return on_facts(home, facts) if facts is not None else home


def shown(
    state: StaffState, now: datetime = NOW, rules: LoanRules | None = None
) -> StaffScreenView:
    return view(state, now, TODAY, IDLE, rules)


def presses(screen: StaffScreenView) -> list[StaffPress]:
    return [b.press for b in screen.buttons]


def button(screen: StaffScreenView, what: StaffPress, arg: str = "") -> str:
    [label] = [b.label for b in screen.buttons if b.press is what and (not arg or b.arg == arg)]
    return label


# The PIN pad ------------------------------------------------------------------------------------


def test_the_pad_opens_empty_on_the_pin_page() -> None:
    state = pad()
    touched = (True, Page.PIN, "", mono(NOW))
    assert (state.active, state.page, state.entry, state.last_touch) == touched
    screen = shown(state)
    assert screen.heading == "Staff: enter your PIN"
    assert screen.entry == "—"
    assert screen.keypad is True
    assert presses(screen) == [Press.OK, Press.CANCEL]


def test_digits_show_as_dots_and_backspace_takes_the_last_one() -> None:
    state = typed(pad(), "2580")
    assert state.entry == "2580"
    assert shown(state).entry == "••••"
    assert "2580" not in "\n".join(shown(state).texts())  # the PIN is never on screen

    state = press(state, Press.BACKSPACE).state
    assert state.entry == "258"
    assert shown(state).entry == "•••"


def test_backspace_on_an_empty_pad_does_nothing() -> None:
    update = press(pad(), Press.BACKSPACE)
    assert update.state.entry == ""
    assert update.effects == ()


def test_a_pin_is_at_most_twelve_digits() -> None:
    state = typed(pad(), "1234567890123456")
    assert state.entry == "123456789012"
    assert len(state.entry) == MAX_PIN == 12


@pytest.mark.parametrize("arg", ["a", "12", "", " "])
def test_only_a_single_digit_is_typed(arg: str) -> None:
    state = press(typed(pad(), "25"), Press.DIGIT, arg).state
    assert state.entry == "25"


def test_ok_with_nothing_typed_does_nothing() -> None:
    update = press(pad(), Press.OK)
    assert update.effects == ()
    assert update.state.busy is None
    assert update.state.page is Page.PIN


def test_ok_asks_the_shell_to_check_the_pin() -> None:
    update = press(typed(pad(), "2580"), Press.OK)
    assert update.effects == (CheckPin("2580"),)
    assert update.state.busy is not None
    assert shown(update.state).message == "Checking…"


def test_the_pad_takes_no_digits_while_the_pin_is_checked() -> None:
    checking = press(typed(pad(), "2580"), Press.OK).state
    update = press(checking, Press.DIGIT, "9")
    assert update.state.entry == "2580"
    assert update.effects == ()
    again = press(checking, Press.OK)
    assert again.effects == ()  # one check at a time


def test_cancel_on_the_pad_only_leaves() -> None:
    update = press(typed(pad(), "25"), Press.CANCEL)
    assert update.effects == (Leave(),)  # nobody signed in: nothing to sign out
    assert update.state == StaffState()


# What the PIN check says ------------------------------------------------------------------------


def checked(result: str, tries_left: int = 0, locked_until: datetime | None = None) -> StaffState:
    checking = press(typed(pad(), "1111"), Press.OK).state
    return on_pin_result(checking, result, tries_left, locked_until, NOW).state


@pytest.mark.parametrize(
    ("tries_left", "message"),
    [
        (4, "Wrong PIN. 4 tries left before staff mode locks."),
        (2, "Wrong PIN. 2 tries left before staff mode locks."),
        (1, "Wrong PIN. 1 try left before staff mode locks."),
    ],
)
def test_a_wrong_pin_says_how_many_tries_are_left(tries_left: int, message: str) -> None:
    state = checked("wrong", tries_left)
    assert (state.page, state.entry, state.busy) == (Page.PIN, "", None)
    screen = shown(state)
    assert screen.message == message
    assert screen.message_ok is False
    assert screen.entry == "—"  # the pad is cleared for the next try
    assert typed(state, "2").entry == "2"  # and takes digits again


def test_too_many_wrong_pins_show_the_locked_page() -> None:
    until = NOW + timedelta(minutes=15)
    state = checked("locked", 0, until)
    assert state.page is Page.LOCKED
    assert state.entry == ""
    screen = shown(state)
    assert screen.heading == "Staff mode is locked"
    assert screen.message == "Too many wrong PINs. Try again after 15:15."
    assert screen.message_ok is False
    assert screen.keypad is False
    assert presses(screen) == [Press.CANCEL]
    assert press(state, Press.DIGIT, "1").state.entry == ""  # no keypad, no typing


def test_the_pad_opens_locked_while_the_lock_lasts() -> None:
    until = NOW + timedelta(minutes=15)
    state = open_pad(StaffState(), NOW, until)
    assert (state.page, state.locked_until) == (Page.LOCKED, until)
    assert open_pad(StaffState(), until, until).page is Page.PIN  # over at that instant


def test_the_corners_lock_notice_says_a_staff_card_still_signs_in() -> None:
    until = NOW + timedelta(minutes=15)
    corner = shown(open_pad(StaffState(), NOW, until, cards=True))
    assert corner.details == (
        "A staff card still signs in: go back and scan it at the Welcome screen.",
        "`kiosk staff unlock` (from the console) lifts the lock now. "
        "Every attempt is in the audit trail.",
    )
    no_cards = shown(open_pad(StaffState(), NOW, until))
    behind_a_card = shown(open_pad(StaffState(), NOW, until, by_card=True, cards=True))
    for screen in (no_cards, behind_a_card):
        assert screen.details == (
            "`kiosk staff unlock` (from the console) lifts the lock now.",
            "Every attempt is in the audit trail.",
        )


def test_a_pin_typed_behind_a_staff_card_is_checked_at_the_cards_pad() -> None:
    by_card = open_pad(StaffState(), NOW, None, by_card=True, cards=True)
    update = press(typed(by_card, "2580"), Press.OK)
    assert update.effects == (CheckPin("2580", by_card=True),)
    locked = on_pin_result(update.state, "locked", 0, at(900), NOW).state
    back = on_tick(locked, at(900), IDLE).state
    assert (back.page, back.by_card, back.cards) == (Page.PIN, True, True)  # still the card's


def test_the_locked_page_turns_back_into_the_pin_pad_when_the_lock_ends() -> None:
    until = at(30)
    state = checked("locked", 0, until)
    assert on_tick(state, at(29), IDLE) == Update(state)

    update = on_tick(state, until, IDLE)
    assert update.effects == ()
    assert (update.state.active, update.state.page) == (True, Page.PIN)
    assert update.state.last_touch == mono(until)  # a fresh minute to type the PIN


def test_not_set_up_says_how_to_set_it_up() -> None:
    state = checked("not_set_up")
    assert state.page is Page.PIN
    screen = shown(state)
    assert screen.message == "Staff mode is not set up on this kiosk."
    assert screen.message_ok is False
    assert screen.details == ("Add a PIN with `kiosk staff add-pin`.",)


def test_a_pin_answer_after_staff_mode_closed_is_ignored() -> None:
    assert on_pin_result(StaffState(), "ok", 0, None, NOW) == Update(StaffState())


# The staff screen -------------------------------------------------------------------------------


def test_the_right_pin_opens_the_staff_screen_and_reads_the_status() -> None:
    checking = press(typed(pad(), "2580"), Press.OK).state
    update = on_pin_result(checking, "ok", 0, None, at(1))
    assert update.effects == (Run(Job.STATUS),)
    assert (update.state.page, update.state.entry, update.state.busy) == (Page.HOME, "", None)
    assert update.state.last_touch == mono(at(1))
    reading = shown(update.state, at(1))
    assert reading.heading == "Staff"
    assert reading.status == (StatusLine("Status", "reading…"),)

    home = on_facts(update.state, FACTS)
    assert shown(home, at(1)).status == FACTS.lines


HOME_JOBS = {
    Job.PAUSE: Run(Job.PAUSE),
    Job.CLEAR_SESSION: Run(Job.CLEAR_SESSION),
    Job.TEST_RECEIPT: Run(Job.TEST_RECEIPT),
    Job.RELOAD_SNAPSHOT: Run(Job.RELOAD_SNAPSHOT),
    Press.EXPORT: Run(Job.DRIVES),
    Press.NEW_PERIOD: Run(Job.STATUS),
    Press.EXIT: Run(Job.SIGN_OUT, "exit"),
}


@pytest.mark.parametrize("what", list(HOME_JOBS), ids=lambda p: p.value)
def test_each_button_on_the_staff_screen_runs_its_action(what: StaffPress) -> None:
    state = signed_in()
    assert what in presses(shown(state))
    update = press(state, what)
    assert update.effects[0] == HOME_JOBS[what]


def test_the_staff_screen_has_a_button_for_every_action() -> None:
    screen = shown(signed_in())
    assert set(presses(screen)) == {*HOME_JOBS, Press.SPECIAL_DUE}
    assert presses(screen)[-1] is Press.EXIT


def test_each_action_a_button_starts_as_it_is_has_its_button_and_no_other_does() -> None:
    """A staff action is declared once (its Job): the buttons that start one carry it."""
    facts = replace(FACTS, pin_locked=True, can_upload=True)
    pages = [shown(signed_in(facts)), shown(signed_in(replace(facts, paused=True)))]
    carried = {b.press for page in pages for b in page.buttons if isinstance(b.press, Job)}
    assert carried == {job for job in Job if job.button}
    for job in Job:
        if not job.button:  # only its own page starts it, with what that page asks for
            assert press(signed_in(facts), job).effects == ()


def test_a_locked_pin_pad_offers_to_unlock_it() -> None:
    state = signed_in(replace(FACTS, pin_locked=True))
    screen = shown(state)
    assert button(screen, Job.UNLOCK_PIN_PAD) == "Unlock the PIN pad"
    assert presses(screen)[-2:] == [Job.UNLOCK_PIN_PAD, Press.EXIT]
    assert press(state, Job.UNLOCK_PIN_PAD).effects == (Run(Job.UNLOCK_PIN_PAD),)


def test_a_paused_station_offers_resume_instead_of_pause() -> None:
    state = signed_in(PAUSED_FACTS)
    screen = shown(state)
    assert Job.PAUSE not in presses(screen)
    assert button(screen, Job.RESUME) == "Resume the station"
    assert press(state, Job.RESUME).effects == (Run(Job.RESUME),)


@pytest.mark.parametrize(
    ("what", "job"),
    [(Job.RELOAD_SNAPSHOT, Job.RELOAD_SNAPSHOT), (Job.TEST_RECEIPT, Job.TEST_RECEIPT)],
)
def test_a_long_action_shows_a_busy_page_then_what_it_did(what: StaffPress, job: Job) -> None:
    busy = press(signed_in(), what).state
    assert (busy.page, busy.busy) == (Page.BUSY, job)
    screen = shown(busy)
    assert screen.heading == job.busy
    assert screen.buttons == ()
    assert screen.footer == ""  # no countdown while it works: it never times out mid-action

    done = on_result(busy, job, Result(True, "Done.", ("A detail.",)), at(5))
    assert done.effects == (Run(Job.STATUS),)  # what changed shows at once
    assert (done.state.page, done.state.busy) == (Page.HOME, None)
    assert (shown(done.state).message, shown(done.state).details) == ("Done.", ("A detail.",))


def test_a_failed_action_shows_as_a_problem() -> None:
    busy = press(signed_in(), Job.PAUSE).state
    done = on_result(busy, Job.PAUSE, Result(False, "The station was not paused: disk full"), NOW)
    screen = shown(done.state)
    assert screen.message == "The station was not paused: disk full"
    assert screen.message_ok is False


def test_exit_signs_out_and_leaves() -> None:
    update = press(signed_in(), Press.EXIT)
    assert update.effects == (Run(Job.SIGN_OUT, "exit"), Leave())
    assert update.state == StaffState()


def test_presses_after_staff_mode_closed_do_nothing() -> None:
    for what in (Press.EXIT, Job.PAUSE, Press.DIGIT, Press.OK):
        assert press(StaffState(), what, "1") == Update(StaffState())


def test_digits_on_the_staff_screen_type_nothing() -> None:
    state = typed(signed_in(), "12")
    assert state.entry == ""
    assert state.page is Page.HOME


# One action at a time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "what", [Press.EXIT, Job.PAUSE, Job.RELOAD_SNAPSHOT, Press.EXPORT, Press.BACK]
)
def test_presses_are_ignored_while_an_action_runs(what: StaffPress) -> None:
    busy = press(signed_in(), Job.PAUSE).state
    assert busy.busy is Job.PAUSE
    update = press(busy, what, now=at(3))
    assert update.effects == ()
    assert update.state.active is True
    assert update.state.busy is Job.PAUSE
    assert update.state.last_touch == mono(at(3))  # a touch all the same


# The special due date ---------------------------------------------------------------------------


def special(days: str = "") -> StaffState:
    return typed(press(signed_in(), Press.SPECIAL_DUE).state, days)


def test_the_special_due_page_takes_up_to_three_digits() -> None:
    state = special()
    assert state.page is Page.SPECIAL_DUE
    screen = shown(state)
    assert screen.keypad is True
    assert screen.entry == "— days"
    assert screen.message == "Type the number of days, then Set."
    assert presses(screen) == [Press.SET_SPECIAL_DUE, Press.CLEAR_SPECIAL_DUE, Press.BACK]
    assert typed(state, "1234").entry == "123"
    assert press(typed(state, "28"), Press.BACKSPACE).state.entry == "2"


def test_the_days_typed_show_the_due_date() -> None:
    screen = shown(special("28"))
    assert screen.entry == "28 days:  due Monday 2026-12-21"
    assert screen.message_ok is True


def test_a_due_date_on_a_day_the_library_is_closed_is_flagged() -> None:
    state = special("27")  # Sunday 2026-12-20
    screen = shown(state, rules=SUNDAYS_CLOSED)
    assert screen.entry == "27 days:  due Sunday 2026-12-20"
    assert screen.message == "The library is closed on Sunday 2026-12-20: choose another day."
    assert screen.message_ok is False

    open_day = shown(special("28"), rules=SUNDAYS_CLOSED)
    assert open_day.message == "Type the number of days, then Set."
    assert open_day.message_ok is True


@pytest.mark.parametrize("days", ["", "0", "000", "366", "999"])
def test_a_number_of_days_out_of_range_is_refused(days: str) -> None:
    update = press(special(days), Press.SET_SPECIAL_DUE)
    assert update.effects == ()
    assert update.state.page is Page.SPECIAL_DUE
    assert update.state.busy is None
    screen = shown(update.state)
    assert screen.message == f"Type a number of days from 1 to {MAX_DAYS}."
    assert screen.message_ok is False


@pytest.mark.parametrize(("days", "arg"), [("1", 1), ("28", 28), ("365", 365)])
def test_set_asks_for_that_many_days(days: str, arg: int) -> None:
    update = press(special(days), Press.SET_SPECIAL_DUE)
    assert update.effects == (Run(Job.SPECIAL_DUE, arg),)
    assert (update.state.page, update.state.busy, update.state.entry) == (
        Page.HOME,
        Job.SPECIAL_DUE,
        "",
    )


def test_clear_asks_for_normal_loans_again() -> None:
    update = press(special("28"), Press.CLEAR_SPECIAL_DUE)
    assert update.effects == (Run(Job.SPECIAL_DUE, None),)
    assert update.state.page is Page.HOME


def test_back_from_the_special_due_page_sets_nothing() -> None:
    update = press(special("28"), Press.BACK)
    assert update.effects == ()
    assert (update.state.page, update.state.entry) == (Page.HOME, "")


def test_set_off_the_special_due_page_does_nothing() -> None:
    assert press(signed_in(), Press.SET_SPECIAL_DUE).effects == ()


# Export to a USB drive --------------------------------------------------------------------------


def looking() -> StaffState:
    return press(signed_in(), Press.EXPORT).state


def test_export_looks_for_drives_first() -> None:
    state = looking()
    assert (state.page, state.drives, state.busy) == (Page.EXPORT, None, Job.DRIVES)
    screen = shown(state)
    assert screen.heading == "Export to a USB drive"
    assert screen.message == "Looking for drives…"
    assert screen.buttons == ()


def test_no_drive_says_plug_one_in() -> None:
    state = on_drives(looking(), ())
    assert state.busy is None
    screen = shown(state)
    assert screen.message == "No USB drive found. Plug one in, wait a few seconds, then Look again."
    assert presses(screen) == [Press.LOOK_AGAIN, Press.BACK]


def test_each_drive_gets_a_button() -> None:
    screen = shown(on_drives(looking(), DRIVES))
    assert screen.message == "Choose the drive."
    assert [(b.press, b.arg, b.label) for b in screen.buttons[:2]] == [
        (Press.EXPORT_TO, "0", "Export to KINGSTON (sdb1)"),
        (Press.EXPORT_TO, "1", "Export to SANDISK (sdc1)"),
    ]
    assert presses(screen)[2:] == [Press.LOOK_AGAIN, Press.BACK]


def test_export_to_a_drive_asks_for_its_index() -> None:
    update = press(on_drives(looking(), DRIVES), Press.EXPORT_TO, "1")
    assert update.effects == (Run(Job.EXPORT, 1),)
    assert (update.state.page, update.state.busy) == (Page.BUSY, Job.EXPORT)
    assert shown(update.state).heading == "Exporting and reading back…"


@pytest.mark.parametrize("arg", ["2", "9", "-1", "x", ""])
def test_export_to_a_drive_not_in_the_list_is_ignored(arg: str) -> None:
    state = on_drives(looking(), DRIVES)
    update = press(state, Press.EXPORT_TO, arg)
    assert update.effects == ()
    assert (update.state.page, update.state.busy) == (Page.EXPORT, None)


def test_look_again_forgets_the_old_list() -> None:
    update = press(on_drives(looking(), DRIVES), Press.LOOK_AGAIN)
    assert update.effects == (Run(Job.DRIVES),)
    assert update.state.drives is None
    assert update.state.page is Page.EXPORT


def test_a_failed_export_stays_on_the_export_page() -> None:
    busy = press(on_drives(looking(), DRIVES), Press.EXPORT_TO, "0").state
    failed = on_result(busy, Job.EXPORT, Result(False, "The export FAILED."), NOW)
    assert failed.effects == (Run(Job.STATUS),)
    assert failed.state.page is Page.EXPORT
    assert shown(failed.state).message == "The export FAILED."
    assert Press.EXPORT_TO in presses(shown(failed.state))  # try again, or another drive

    done = on_result(busy, Job.EXPORT, Result(True, "10 checkouts exported."), NOW)
    assert done.state.page is Page.HOME


# A new offline period ---------------------------------------------------------------------------


def confirming(facts: Facts | None) -> StaffState:
    state = press(signed_in(), Press.NEW_PERIOD).state
    return on_facts(state, facts) if facts is not None else state


def test_a_new_period_reads_the_spool_again_first() -> None:
    update = press(signed_in(), Press.NEW_PERIOD)
    assert update.effects == (Run(Job.STATUS),)
    assert (update.state.page, update.state.facts) == (Page.CONFIRM_PERIOD, None)
    screen = shown(update.state)
    assert screen.message == "Checking the spool…"
    assert screen.buttons == ()


def test_checkouts_not_handed_over_mean_not_yet() -> None:
    state = confirming(PENDING_FACTS)
    screen = shown(state)
    assert screen.message == (
        "Not yet: 3 of this period's 10 checkouts have not been exported or uploaded."
    )
    assert screen.message_ok is False
    assert Press.CONFIRM_NEW_PERIOD not in presses(screen)
    assert presses(screen) == [Press.EXPORT, Press.BACK]
    assert press(state, Press.CONFIRM_NEW_PERIOD).effects == ()


def test_all_handed_over_offers_the_archive_with_the_count_and_the_retention() -> None:
    state = confirming(FACTS)
    screen = shown(state)
    assert screen.message == "Archive this period's 10 checkouts and start a new period?"
    assert screen.details[0] == (
        "All 10 were handed over. They are archived, not deleted "
        "(kept for 90 days after they were handed over)."
    )
    confirm = [b for b in screen.buttons if b.press is Press.CONFIRM_NEW_PERIOD]
    assert [(b.label, b.danger) for b in confirm] == [("Archive 10 and start", True)]

    update = press(state, Press.CONFIRM_NEW_PERIOD)
    assert update.effects == (Run(Job.NEW_PERIOD, 10),)
    assert update.state.page is Page.BUSY
    assert shown(update.state).heading == "Starting a new period…"


def test_no_retention_says_only_kept() -> None:
    screen = shown(confirming(Facts(FACTS.lines, False, 4, 0, 0)))
    assert "(kept)." in screen.details[0]


def test_an_unreadable_spool_starts_no_period() -> None:
    state = confirming(UNREADABLE_FACTS)
    screen = shown(state)
    assert screen.message == "The spool cannot be read: no new period can start."
    assert presses(screen) == [Press.BACK]
    assert press(state, Press.CONFIRM_NEW_PERIOD).effects == ()


def test_confirm_before_the_facts_came_does_nothing() -> None:
    state = confirming(None)
    # The status read failed: the job answered, but there are no facts to confirm against.
    failed = on_result(state, Job.STATUS, Result(False, "That did not work: disk gone"), NOW)
    assert failed.effects == ()
    assert (failed.state.busy, failed.state.facts) == (None, None)
    update = press(failed.state, Press.CONFIRM_NEW_PERIOD)
    assert update.effects == ()
    assert update.state.page is Page.CONFIRM_PERIOD


def test_confirm_off_the_confirmation_page_does_nothing() -> None:
    assert press(signed_in(), Press.CONFIRM_NEW_PERIOD).effects == ()


# Staff mode closes itself -----------------------------------------------------------------------


def test_the_staff_screen_signs_out_after_the_idle_time() -> None:
    state = signed_in()
    assert on_tick(state, at(59), IDLE) == Update(state)
    update = on_tick(state, at(60), IDLE)
    assert update.effects == (Run(Job.SIGN_OUT, "timeout"), Leave())
    assert update.state == StaffState()


def test_the_footer_counts_down() -> None:
    footer = shown(signed_in(), at(15)).footer
    assert footer == "Staff mode closes by itself after 60 s untouched (45 s left)."


@pytest.mark.parametrize(
    "state",
    [pad(), checked("wrong", 3), checked("locked", 0, NOW + timedelta(minutes=15))],
    ids=["pin", "wrong-pin", "locked"],
)
def test_the_pad_only_leaves_after_the_idle_time(state: StaffState) -> None:
    update = on_tick(state, at(60), IDLE)
    assert update.effects == (Leave(),)  # nobody signed in: nothing to sign out
    assert update.state == StaffState()


def test_a_press_restarts_the_idle_time() -> None:
    state = press(signed_in(), Press.SPECIAL_DUE, now=at(40)).state
    assert on_tick(state, at(99), IDLE).effects == ()
    assert on_tick(state, at(100), IDLE).effects == (Run(Job.SIGN_OUT, "timeout"), Leave())


def test_never_while_an_action_runs() -> None:
    busy = press(on_drives(looking(), DRIVES), Press.EXPORT_TO, "0").state
    assert on_tick(busy, at(600), IDLE) == Update(busy)


def test_a_result_counts_as_a_touch() -> None:
    busy = press(signed_in(), Job.RELOAD_SNAPSHOT, now=at(10)).state
    done = on_result(busy, Job.RELOAD_SNAPSHOT, Result(True, "Snapshot reloaded."), at(50))
    assert done.state.last_touch == mono(at(50))
    assert on_tick(done.state, at(109), IDLE).effects == ()
    assert on_tick(done.state, at(110), IDLE).effects == (Run(Job.SIGN_OUT, "timeout"), Leave())


def test_a_closed_staff_mode_does_not_tick() -> None:
    assert on_tick(StaffState(), at(600), IDLE) == Update(StaffState())


def test_the_idle_time_keeps_its_schedule_when_ntp_sets_the_wall_clock() -> None:
    state = signed_in()
    ahead, back = NOW + timedelta(days=1), NOW - timedelta(hours=1)
    assert core.on_tick(state, ahead, mono(at(1)), IDLE) == Update(state)  # not closed at once
    assert core.view(state, mono(at(15)), TODAY, IDLE, None).footer.endswith("(45 s left).")
    update = core.on_tick(state, back, mono(at(60)), IDLE)  # not an hour later either
    assert update.effects == (Run(Job.SIGN_OUT, "timeout"), Leave())


# Every page says something, and every button has a label ---------------------------------------


def every_page() -> dict[str, StaffState]:
    exporting = press(on_drives(looking(), DRIVES), Press.EXPORT_TO, "0").state
    return {
        "pin": pad(),
        "pin typed": typed(pad(), "12"),
        "checking": press(typed(pad(), "12"), Press.OK).state,
        "wrong": checked("wrong", 1),
        "locked": checked("locked", 0, NOW + timedelta(minutes=15)),
        "not set up": checked("not_set_up"),
        "home reading": signed_in(None),
        "home": signed_in(),
        "home paused": signed_in(PAUSED_FACTS),
        "special": special(),
        "special typed": special("27"),
        "special refused": press(special("0"), Press.SET_SPECIAL_DUE).state,
        "export looking": looking(),
        "export none": on_drives(looking(), ()),
        "export drives": on_drives(looking(), DRIVES),
        "exporting": exporting,
        "confirm checking": confirming(None),
        "confirm pending": confirming(PENDING_FACTS),
        "confirm": confirming(FACTS),
        "confirm unreadable": confirming(UNREADABLE_FACTS),
        "reloading": press(signed_in(), Job.RELOAD_SNAPSHOT).state,
    }


@pytest.mark.parametrize("name", list(every_page()))
def test_every_page_has_a_heading_and_labelled_buttons(name: str) -> None:
    state = every_page()[name]
    screen = shown(state, rules=SUNDAYS_CLOSED)
    assert screen.heading.strip()
    assert all(b.label.strip() for b in screen.buttons)
    assert all(text.strip() for text in screen.texts())
    for line in screen.status:
        assert line.value.strip()


def test_every_button_shown_is_one_the_state_machine_answers() -> None:
    """A press on any button on any page either changes the page or asks for something.
    Not counted: OK on an empty pad and Set with a refused number, which rightly do nothing."""
    for name, state in every_page().items():
        if state.busy is not None:
            continue  # nothing is answered mid-action (tested above)
        for b in shown(state).buttons:
            if (b.press, state.entry) in ((Press.OK, ""), (Press.SET_SPECIAL_DUE, "0")):
                continue
            update = press(state, b.press, b.arg, at(1))
            moved = update.state != replace(state, last_touch=mono(at(1)))
            assert update.effects or moved, f"{b.label!r} on {name} does nothing"
