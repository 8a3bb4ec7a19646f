"""Several writes of one action in one statement: PostgreSQL's data-modifying WITH (issue 10).

A booking's last writes (its names, the appointment's UPDATE, the audit row, the confirmation e-mail's outbox
row) and the fair-share count that may still refuse it go to the database as one statement instead of five,
and a hold's appointment, its claim and its audit row as one instead of three.

Each write is built by Django's own compilers from model instances, as Model.save and QuerySet.bulk_create
build theirs (InsertQuery, UpdateQuery): the fields' pre_save, their Python and database defaults and their
conversions to the database are the ORM's, and so are the values a RETURNING gives back. Two things differ
from saving the instances one by one, and the callers are written for them:

- No pre_save or post_save signal is sent (the project connects none: tests/test_together.py says so).
- Every part of the statement sees the database as it was when the statement began: a part does not see the
  rows the parts beside it write (PostgreSQL, "Data-Modifying Statements in WITH"), and no two parts may
  write the same row. So a count in the same statement counts without the writes, and a part that needs a
  row another part inserts takes it from that part's RETURNING (`from_part`).

Other backends (SQLite) cannot write in a WITH; the callers run the same writes one by one through the ORM
there (their other branch), and tests/test_together.py compares the rows both ways write on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Field, Model
from django.db.models.constants import OnConflict
from django.db.models.expressions import DatabaseDefault, RawSQL
from django.db.models.sql import InsertQuery, UpdateQuery


@dataclass(frozen=True)
class Write:
    """One INSERT or UPDATE of a statement: its SQL, its parameters and the fields its RETURNING gives back."""

    sql: str
    params: tuple
    returning: tuple[Field, ...] = field(default=())


def available() -> bool:
    """Whether the database runs writes inside a WITH (PostgreSQL)."""
    return connection.vendor == "postgresql"


def insert(objs: Sequence[Model], *, returning: Sequence[str] = (), on_conflict_ignore: bool = False) -> Write:
    """The INSERT of `objs` (instances of one model without a primary key yet), as Model.save and bulk_create
    build it; `returning`: the names of the fields to give back (one object only).

    The text of a one-object INSERT depends only on its shape (the model, which values are expressions, what it
    returns), so it is compiled once per shape and kept (`_compiled`); its parameters are each field's
    `get_db_prep_save` of its `pre_save` value, as the compiler makes them (tests/test_together.py compares the
    two)."""
    model = type(objs[0])
    opts = model._meta
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="save")
    fields = _insert_fields(model)
    returned = tuple(opts.get_field(name) for name in returning)
    if returned and len(objs) != 1:
        raise ValueError("A RETURNING is given back for one object only.")
    shape = _shape(model, objs, returned, on_conflict_ignore) if len(objs) == 1 else None
    if shape is not None and shape in _compiled:
        values = [model_field.pre_save(objs[0], True) for model_field in fields]
        params = tuple(
            model_field.get_db_prep_save(value, connection=connection)
            for model_field, value in zip(fields, values, strict=True)
            if not hasattr(value, "as_sql")
        )
        return Write(sql=_compiled[shape], params=params, returning=returned)
    write = compiled_insert(objs, returned=returned, on_conflict_ignore=on_conflict_ignore)
    if shape is not None:
        _compiled[shape] = write.sql
    return write


def compiled_insert(objs: Sequence[Model], *, returned: tuple[Field, ...], on_conflict_ignore: bool) -> Write:
    """`insert`, compiled by Django's InsertQuery every time (no text kept)."""
    model = type(objs[0])
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE if on_conflict_ignore else None)
    query.insert_values(list(_insert_fields(model)), objs)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = list(returned) or None
    [(sql, params)] = compiler.as_sql()  # the RETURNING's parameters among them
    return Write(sql=sql, params=tuple(params), returning=returned)


# The text of each one-object INSERT shape compiled so far (insert).
_compiled: dict[tuple, str] = {}


def _insert_fields(model: type[Model]) -> tuple[Field, ...]:
    opts = model._meta
    return tuple(f for f in opts.local_concrete_fields if f is not opts.auto_field)


def _shape(model: type[Model], objs: Sequence[Model], returned: tuple[Field, ...], ignore: bool) -> tuple | None:
    """What the text of the one object's INSERT depends on, or None when it may depend on more (a field with
    its own placeholder, an expression other than a parameterless RawSQL or a database default)."""
    shape: list[object] = [connection.alias, model, tuple(f.attname for f in returned), ignore]
    for model_field in _insert_fields(model):
        if hasattr(model_field, "get_placeholder"):
            return None
        value = getattr(objs[0], model_field.attname)
        if not hasattr(value, "as_sql"):
            shape.append(None)
        elif isinstance(value, DatabaseDefault):
            shape.append("DEFAULT")
        elif isinstance(value, RawSQL) and not value.params:
            shape.append(value.sql)
        else:
            return None
    return tuple(shape)


def update(instance: Model, field_names: Sequence[str]) -> Write:
    """The UPDATE of `instance`'s row that instance.save(update_fields=field_names) makes."""
    opts = instance._meta
    fields = [opts.get_field(name) for name in field_names]
    query = UpdateQuery(type(instance))
    query.add_update_fields([(f, None, f.pre_save(instance, False)) for f in fields])
    query.add_filter("pk", instance.pk)
    sql, params = query.get_compiler(connection=connection).as_sql()
    return Write(sql=sql, params=tuple(params))


def from_part(name: str, column: str = "id") -> RawSQL:
    """A value for a field of a later part: `column` of the row part `name` inserts (and gives back)."""
    if not (name.isidentifier() and column.isidentifier()):
        raise ValueError("A part's name and column are identifiers.")
    sql = f"(SELECT {connection.ops.quote_name(column)} FROM {name})"  # noqa: S608 - identifiers only
    return RawSQL(sql, ())  # noqa: S611


def run(writes: dict[str, Write], *, select: str, params: Sequence[object] = ()) -> tuple:
    """Run `writes` as the parts of one statement (named by their keys, each an identifier) and give back the
    one row `select` reads from them: `SELECT … FROM <part>` for a part's RETURNING."""
    if not writes or not all(name.isidentifier() for name in writes):
        raise ValueError("The parts of a statement are named by identifiers.")
    parts = ", ".join(f"{name} AS ({write.sql})" for name, write in writes.items())
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {parts} {select}",
            [value for write in writes.values() for value in write.params] + list(params),
        )
        return cursor.fetchone()


def returned(write: Write, values: Sequence[object], instance: Model) -> None:
    """Set on `instance` the values its part's RETURNING gave back, converted as the ORM converts them, and mark
    it saved (as Model.save does)."""
    for returned_field, value in zip(write.returning, values, strict=True):
        column = returned_field.get_col(instance._meta.db_table)
        converters = column.get_db_converters(connection) + connection.ops.get_db_converters(column)
        for converter in converters:
            value = converter(value, column, connection)
        setattr(instance, returned_field.attname, value)
    instance._state.adding = False
    instance._state.db = connection.alias
