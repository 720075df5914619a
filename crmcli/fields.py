"""The customer record's field names, in the order listings and exports show them.

This is the output contract (DESIGN.md, "The customer record"): the keys of `--format json`
objects and the columns of csv/tsv, shared by every command. A plain tuple in a module of its
own so that listings can use it without importing pydantic.
"""

RECORD_FIELDS = (
    "id",
    "external_id",
    "kind",
    "name",
    "company",
    "phones",
    "emails",
    "status",
    "grade",
    "source",
    "industry",
    "city",
    "gender",
    "budget",
    "needs",
    "tags",
    "notes",
    "first_contact_on",
    "last_contacted_at",
    "next_follow_up_on",
    "archived_at",
    "created_at",
    "updated_at",
)
