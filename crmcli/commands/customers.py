"""Commands for one customer at a time: add, edit, show, archive, restore, delete."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.shared import (
    DbOption,
    FormatOption,
    KeyFileOption,
    RevealOption,
    YesOption,
    confirm,
    handle_errors,
    open_db,
)
from crmcli.render import Format

# One option per field, shared by `add` and `edit`.
Company = Annotated[
    str | None, typer.Option("--company", help="Company (for a person: where they work).")
]
Kind = Annotated[str | None, typer.Option("--kind", help="person or company (个人/企业).")]
Phones = Annotated[
    list[str] | None, typer.Option("--phone", "-p", help="A phone; repeat for more.")
]
Emails = Annotated[
    list[str] | None, typer.Option("--email", "-e", help="An email; repeat for more.")
]
Tags = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="A tag; repeat or comma-separate.")
]
Status = Annotated[
    str | None,
    typer.Option(
        "--status", "-s", help="lead, prospect, customer, lost (or 潜在/意向/成交/流失客户)."
    ),
]
Grade = Annotated[str | None, typer.Option("--grade", "-g", help="A, B or C.")]
Source = Annotated[str | None, typer.Option("--source", help="Where they came from.")]
Industry = Annotated[str | None, typer.Option("--industry")]
City = Annotated[str | None, typer.Option("--city")]
Gender = Annotated[str | None, typer.Option("--gender", help="male/female/other (男/女).")]
Budget = Annotated[str | None, typer.Option("--budget")]
Needs = Annotated[str | None, typer.Option("--needs")]
Note = Annotated[str | None, typer.Option("--note", help="Free notes.")]
FirstContact = Annotated[
    str | None,
    typer.Option("--first-contact", help="Date of first contact (2024-05-20, 2024年5月20日…)."),
]
Next = Annotated[
    str | None, typer.Option("--next", help="Next follow-up: a date, today, tomorrow, +3d, +2w.")
]
ExternalId = Annotated[
    str | None, typer.Option("--external-id", help="Customer number (客户编号).")
]


def _draft_values(**options: Any) -> dict[str, Any]:
    from crmcli.commands.shared import split_values

    values: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or value == []:
            continue
        if key == "tags":
            value = split_values(value)
        values[key] = value
    return values


def _record_out(record: dict, fmt: Format) -> None:
    if fmt is not Format.table:
        from crmcli.commands.listing import CUSTOMER_FIELDS

        render.emit([record], [], fmt, fields=CUSTOMER_FIELDS)


@app.command()
@handle_errors
def add(
    name: Annotated[str, typer.Argument(help="The customer's name (a person or a company).")],
    company: Company = None,
    kind: Kind = None,
    phone: Phones = None,
    email: Emails = None,
    tag: Tags = None,
    status: Status = None,
    grade: Grade = None,
    source: Source = None,
    industry: Industry = None,
    city: City = None,
    gender: Gender = None,
    budget: Budget = None,
    needs: Needs = None,
    note: Note = None,
    first_contact: FirstContact = None,
    next_: Next = None,
    external_id: ExternalId = None,
    db: DbOption = None,
    key_file: KeyFileOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Add a customer. Warns (stderr) when it looks like one you already have."""
    from crmcli.models import build_draft
    from crmcli.operations import customers

    draft = build_draft(
        _draft_values(
            name=name,
            company=company,
            kind=kind,
            phones=phone,
            emails=email,
            tags=tag,
            status=status,
            grade=grade,
            source=source,
            industry=industry,
            city=city,
            gender=gender,
            budget=budget,
            needs=needs,
            notes=note,
            first_contact_on=first_contact,
            next_follow_up_on=next_,
            external_id=external_id,
        )
    )
    with open_db(db, "add", create=True, key_file=key_file) as store:
        result = customers.add(store, draft)
        _announce_key(store)
        for twin in result.lookalikes:
            render.warn(f"looks like #{twin.id} {twin.name} ({'; '.join(twin.reasons)})")
        render.message(f"Added customer #{result.id}: {draft.name}")
        if fmt is not Format.table:
            record, _ = customers.profile(store, result.id)
            _record_out(record, fmt)


def _announce_key(store: Any) -> None:
    """A database's key was just created: say where it went and show the recovery code once."""
    if store.new_recovery_code:
        render.key_created(store.key_source or "", store.new_recovery_code)


@app.command()
@handle_errors
def edit(
    ref: Annotated[str, typer.Argument(help="Customer id, or an unambiguous name/phone fragment.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    company: Company = None,
    kind: Kind = None,
    phone: Phones = None,
    email: Emails = None,
    tag: Tags = None,
    status: Status = None,
    grade: Grade = None,
    source: Source = None,
    industry: Industry = None,
    city: City = None,
    gender: Gender = None,
    budget: Budget = None,
    needs: Needs = None,
    note: Note = None,
    first_contact: FirstContact = None,
    next_: Next = None,
    external_id: ExternalId = None,
    remove_tag: Annotated[
        list[str] | None, typer.Option("--remove-tag", help="Remove a tag.")
    ] = None,
    remove_phone: Annotated[
        list[str] | None, typer.Option("--remove-phone", help="Remove a phone (any format).")
    ] = None,
    remove_email: Annotated[
        list[str] | None, typer.Option("--remove-email", help="Remove an email.")
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option("--clear", help="Empty a field (e.g. --clear city, --clear phones)."),
    ] = None,
    db: DbOption = None,
    key_file: KeyFileOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Change a customer's fields; add or remove phones, emails and tags; clear fields."""
    from crmcli.commands.shared import split_values
    from crmcli.models import build_draft
    from crmcli.normalize import normalize_tag
    from crmcli.operations import customers
    from crmcli.operations.search import resolve

    draft = build_draft(
        _draft_values(
            name=name,
            company=company,
            kind=kind,
            phones=phone,
            emails=email,
            tags=tag,
            status=status,
            grade=grade,
            source=source,
            industry=industry,
            city=city,
            gender=gender,
            budget=budget,
            needs=needs,
            notes=note,
            first_contact_on=first_contact,
            next_follow_up_on=next_,
            external_id=external_id,
        )
    )
    with open_db(db, "edit", key_file=key_file) as store:
        customer_id = resolve(store, ref)
        changed = customers.edit(
            store,
            customer_id,
            draft,
            clear=[c.strip().replace("-", "_") for c in split_values(clear)],
            remove_tags=[normalize_tag(t) for t in split_values(remove_tag)],
            remove_phones=remove_phone or [],
            remove_emails=remove_email or [],
        )
        if changed:
            render.message(f"Updated customer #{customer_id}: {', '.join(changed)}")
        else:
            render.message(f"Customer #{customer_id} unchanged.")
        if fmt is not Format.table:
            record, _ = customers.profile(store, customer_id)
            _record_out(record, fmt)


@app.command()
@handle_errors
def show(
    ref: Annotated[str, typer.Argument(help="Customer id, or an unambiguous name/phone fragment.")],
    reveal: RevealOption = False,
    db: DbOption = None,
    key_file: KeyFileOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Show a customer's profile and full interaction timeline (newest first)."""
    from crmcli.operations import customers
    from crmcli.operations.search import resolve

    with open_db(db, "show", key_file=key_file) as store:
        customer_id = resolve(store, ref)
        record, timeline = customers.profile(store, customer_id, reveal=reveal)
    render.profile(record, timeline, fmt)


@app.command()
@handle_errors
def archive(
    refs: Annotated[list[str], typer.Argument(help="Customer ids or unambiguous fragments.")],
    db: DbOption = None,
) -> None:
    """Move customers to the dormant pool (kept, hidden from lists; `restore` brings them back)."""
    _set_archived(refs, db, archived=True)


@app.command()
@handle_errors
def restore(
    refs: Annotated[list[str], typer.Argument(help="Customer ids or unambiguous fragments.")],
    db: DbOption = None,
) -> None:
    """Bring archived customers back from the dormant pool."""
    _set_archived(refs, db, archived=False)


def _set_archived(refs: list[str], db: Any, *, archived: bool) -> None:
    from crmcli.operations import customers
    from crmcli.operations.search import resolve

    verb = "archive" if archived else "restore"
    with open_db(db, verb) as store:
        ids = list(dict.fromkeys(resolve(store, ref) for ref in refs))
        changed = customers.set_archived(store, ids, archived)
    done = "Archived" if archived else "Restored"
    render.message(f"{done} {changed} customer(s); {len(ids) - changed} already {verb}d.")


@app.command()
@handle_errors
def delete(
    ref: Annotated[str, typer.Argument(help="Customer id, or an unambiguous name/phone fragment.")],
    yes: YesOption = False,
    db: DbOption = None,
) -> None:
    """Delete a customer and their timeline for good (asks first; prefer `archive`)."""
    from crmcli.operations import customers
    from crmcli.operations.search import resolve
    from crmcli.store import customers as customers_db

    with open_db(db, "delete") as store:
        customer_id = resolve(store, ref)
        row = customers_db.fetch_row(store, customer_id)
        assert row is not None
        if not confirm(f"Delete customer #{customer_id} {row['name']} and their timeline?", yes):
            render.message("Nothing deleted.")
            return
        name = customers.delete(store, customer_id)
    render.message(f"Deleted customer #{customer_id}: {name}")
