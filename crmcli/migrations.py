"""The schema history: numbered, append-only migrations (sqlite-utils `Migrations`).

Never edit a migration that has shipped; add the next number. `SCHEMA_VERSION` is the
number of migrations and is mirrored in `PRAGMA user_version`, so opening an up-to-date
database costs one pragma and never imports sqlite-utils (~150 ms). A database whose
`user_version` is higher than ours was written by a newer crmcli and is refused untouched.

Contact details (phones, emails) are stored encrypted (`*_enc`), beside a keyed hash for
exact lookup and a masked copy for listings: the masked copy is the most plaintext kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

# Each entry is a list of statements (no executescript: it would COMMIT the enclosing
# BEGIN IMMEDIATE and break the all-or-nothing upgrade).
_M001_INITIAL = [
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        external_id TEXT UNIQUE,
        kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'company')),
        name TEXT NOT NULL CHECK (name <> ''),
        company TEXT,
        status TEXT NOT NULL DEFAULT 'lead'
            CHECK (status IN ('lead', 'prospect', 'customer', 'lost')),
        grade TEXT CHECK (grade IN ('A', 'B', 'C')),
        source TEXT,
        industry TEXT,
        city TEXT,
        gender TEXT,
        budget TEXT,
        needs TEXT,
        notes TEXT,
        first_contact_on TEXT,
        last_contacted_at TEXT,
        last_channel TEXT,
        next_follow_up_on TEXT,
        archived_at TEXT,
        merged_into INTEGER REFERENCES customers(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        name_key TEXT NOT NULL DEFAULT '',
        pinyin TEXT,
        pinyin_initials TEXT,
        company_key TEXT
    )""",
    # Live customers only: merged-away rows are tombstones that resolve to their survivor.
    "CREATE INDEX customers_name ON customers(name_key, id) WHERE merged_into IS NULL",
    "CREATE INDEX customers_status ON customers(status) WHERE merged_into IS NULL",
    "CREATE INDEX customers_follow_up ON customers(next_follow_up_on)"
    " WHERE next_follow_up_on IS NOT NULL AND merged_into IS NULL",
    # The stale report orders by this exact expression; keep the two in step (store/reports).
    "CREATE INDEX customers_silence ON customers("
    "COALESCE(last_contacted_at, first_contact_on, created_at)) WHERE merged_into IS NULL",
    "CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into IS NOT NULL",
    """CREATE TABLE phones (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        position INTEGER NOT NULL DEFAULT 0,
        value_enc BLOB NOT NULL,
        masked TEXT NOT NULL,
        e164_hash TEXT,
        tail8_hash TEXT NOT NULL,
        tail4 TEXT NOT NULL
    )""",
    "CREATE INDEX phones_customer ON phones(customer_id, position)",
    "CREATE INDEX phones_e164 ON phones(e164_hash)",
    "CREATE INDEX phones_tail8 ON phones(tail8_hash)",
    "CREATE INDEX phones_tail4 ON phones(tail4)",
    """CREATE TABLE emails (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        position INTEGER NOT NULL DEFAULT 0,
        value_enc BLOB NOT NULL,
        masked TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX emails_customer ON emails(customer_id, position)",
    "CREATE INDEX emails_hash ON emails(hash)",
    """CREATE TABLE tags (
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        tag TEXT NOT NULL,
        PRIMARY KEY (customer_id, tag)
    ) WITHOUT ROWID""",
    "CREATE INDEX tags_tag ON tags(tag)",
    """CREATE TABLE interactions (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        at TEXT NOT NULL,
        channel TEXT NOT NULL
            CHECK (channel IN ('call', 'email', 'meeting', 'message', 'visit', 'note')),
        summary TEXT NOT NULL,
        outcome TEXT,
        next_follow_up_on TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX interactions_customer ON interactions(customer_id, at)",
    "CREATE INDEX interactions_at ON interactions(at)",
    # Search: whole words/keys (exact and prefix tiers), CJK 1-2 grams (short Chinese
    # queries that trigram FTS cannot answer), Latin vocabulary (typo tolerance), and
    # trigram FTS over the free text (substring tier for 3+ characters).
    """CREATE TABLE search_terms (
        term TEXT NOT NULL,
        customer_id INTEGER NOT NULL,
        PRIMARY KEY (term, customer_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX search_terms_customer ON search_terms(customer_id)",
    """CREATE TABLE search_grams (
        gram TEXT NOT NULL,
        customer_id INTEGER NOT NULL,
        PRIMARY KEY (gram, customer_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX search_grams_customer ON search_grams(customer_id)",
    "CREATE TABLE search_vocab (term TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE search_fts USING fts5(body, tokenize = 'trigram')",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        os_user TEXT,
        command TEXT,
        action TEXT NOT NULL,
        customer_id INTEGER,
        details TEXT
    )""",
    "CREATE INDEX audit_customer ON audit(customer_id, id)",
    # Append-only from the program's side.
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TABLE merges (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        survivor_id INTEGER NOT NULL,
        merged_ids TEXT NOT NULL,
        reasons TEXT,
        snapshot TEXT NOT NULL,
        survivor_after TEXT NOT NULL,
        undone_at TEXT
    )""",
    """CREATE TABLE not_duplicates (
        a_id INTEGER NOT NULL,
        b_id INTEGER NOT NULL,
        decided_at TEXT NOT NULL,
        PRIMARY KEY (a_id, b_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE report_state (
        report TEXT NOT NULL,
        customer_id INTEGER NOT NULL,
        PRIMARY KEY (report, customer_id)
    ) WITHOUT ROWID""",
]

# Duplicate blocking keys (crmcli/store/match_keys.py): one row per (key, customer) for live
# customers. Keys derived from phones and e-mails are the keyed hashes already stored beside
# them, never plaintext. A database that already has customers gets its keys on the first
# `dedupe` (computing them needs the matcher, which a migration must not depend on); an empty
# one starts current.
_M002_MATCH_KEYS = [
    """CREATE TABLE match_keys (
        key TEXT NOT NULL,
        customer_id INTEGER NOT NULL,
        PRIMARY KEY (key, customer_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX match_keys_customer ON match_keys(customer_id)",
    "INSERT OR REPLACE INTO meta (key, value) SELECT 'match_keys_version', '1'"
    " WHERE NOT EXISTS (SELECT 1 FROM customers)",
]

# What `stats` reads (crmcli/store/reports.py), so the overview never scans a million customers
# and ten million interactions: counters kept by triggers (live customers per status, grade,
# source, city and archived; interactions per UTC day), and two covering indexes.
# NULL is stored as '' (a primary key cannot match NULL; cleaned text is never ''). Rows that
# drop to 0 stay (there are few) and are skipped on reading. Filled from the data here.
_STATS_KEY = "status, grade, source, city, archived"
_STATS_OLD = (
    "status = OLD.status AND grade = COALESCE(OLD.grade, '') AND source = COALESCE(OLD.source, '')"
    " AND city = COALESCE(OLD.city, '') AND archived = (OLD.archived_at IS NOT NULL)"
)
_STATS_NEW = (
    "NEW.status, COALESCE(NEW.grade, ''), COALESCE(NEW.source, ''), COALESCE(NEW.city, ''),"
    " NEW.archived_at IS NOT NULL"
)
# Also run by a bulk load into an empty database, which counts once instead of per row
# (store/bulk_load.py).
STATS_CUSTOMERS_FILL = f"""INSERT INTO stats_customers ({_STATS_KEY}, n)
        SELECT status, COALESCE(grade, ''), COALESCE(source, ''), COALESCE(city, ''),
               archived_at IS NOT NULL, COUNT(*)
        FROM customers WHERE merged_into IS NULL GROUP BY 1, 2, 3, 4, 5"""
_M003_STATS_COUNTERS = [
    f"""CREATE TABLE stats_customers (
        status TEXT NOT NULL,
        grade TEXT NOT NULL,
        source TEXT NOT NULL,
        city TEXT NOT NULL,
        archived INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY ({_STATS_KEY})
    ) WITHOUT ROWID""",
    """CREATE TABLE stats_activity (
        day TEXT PRIMARY KEY,
        n INTEGER NOT NULL
    ) WITHOUT ROWID""",
    STATS_CUSTOMERS_FILL,
    """INSERT INTO stats_activity (day, n)
        SELECT substr(at, 1, 10), COUNT(*) FROM interactions GROUP BY 1""",
    f"""CREATE TRIGGER stats_customers_insert AFTER INSERT ON customers
        WHEN NEW.merged_into IS NULL BEGIN
        INSERT INTO stats_customers ({_STATS_KEY}, n) VALUES ({_STATS_NEW}, 1)
            ON CONFLICT ({_STATS_KEY}) DO UPDATE SET n = n + 1;
    END""",
    f"""CREATE TRIGGER stats_customers_delete AFTER DELETE ON customers
        WHEN OLD.merged_into IS NULL BEGIN
        UPDATE stats_customers SET n = n - 1 WHERE {_STATS_OLD};
    END""",
    f"""CREATE TRIGGER stats_customers_update
        AFTER UPDATE OF status, grade, source, city, archived_at, merged_into ON customers BEGIN
        UPDATE stats_customers SET n = n - 1 WHERE OLD.merged_into IS NULL AND {_STATS_OLD};
        INSERT INTO stats_customers ({_STATS_KEY}, n) SELECT {_STATS_NEW}, 1
            WHERE NEW.merged_into IS NULL
            ON CONFLICT ({_STATS_KEY}) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER stats_activity_insert AFTER INSERT ON interactions BEGIN
        INSERT INTO stats_activity (day, n) VALUES (substr(NEW.at, 1, 10), 1)
            ON CONFLICT (day) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER stats_activity_delete AFTER DELETE ON interactions BEGIN
        UPDATE stats_activity SET n = n - 1 WHERE day = substr(OLD.at, 1, 10);
    END""",
    """CREATE TRIGGER stats_activity_update AFTER UPDATE OF at ON interactions BEGIN
        UPDATE stats_activity SET n = n - 1 WHERE day = substr(OLD.at, 1, 10);
        INSERT INTO stats_activity (day, n) VALUES (substr(NEW.at, 1, 10), 1)
            ON CONFLICT (day) DO UPDATE SET n = n + 1;
    END""",
    # Counting who is stale (stats, and the state `stale --new-only` keeps) and who is due
    # (stats) with the usual filters, from the index alone: no visit to a million rows.
    "CREATE INDEX customers_silence_status ON customers("
    "COALESCE(last_contacted_at, first_contact_on, created_at), status, archived_at)"
    " WHERE merged_into IS NULL",
    "CREATE INDEX customers_follow_up_archived ON customers(next_follow_up_on, archived_at)"
    " WHERE next_follow_up_on IS NOT NULL AND merged_into IS NULL",
]

# Sealed contacts (crmcli/store/sealed.py): one AES-GCM blob per customer holding all its phone
# and e-mail plaintexts, so revealing 100k customers is 100k decryptions instead of 215k
# (issue #6). A table of its own, not a column of `customers`: every `SELECT *` of a customer
# (records, merge snapshots, exports) stays as it was and customer rows stay narrow.
# A row for every customer (kept by the customers triggers); contacts_enc NULL = not sealed.
# The phones/emails triggers unseal the customer(s) a row change touches (an UPDATE both the old
# and the new owner: merges move rows), so a blob is either absent or exactly the rows; the
# next write that holds the key seals it again. Existing databases start unsealed.
_UNSEAL = (
    "UPDATE contacts_sealed SET contacts_enc = NULL"
    " WHERE customer_id = {who}.customer_id AND contacts_enc IS NOT NULL;"
)
_M004_SEALED_CONTACTS = [
    """CREATE TABLE contacts_sealed (
        customer_id INTEGER PRIMARY KEY,
        contacts_enc BLOB
    )""",
    "CREATE INDEX contacts_unsealed ON contacts_sealed(customer_id) WHERE contacts_enc IS NULL",
    "INSERT INTO contacts_sealed (customer_id) SELECT id FROM customers",
    # OR REPLACE: a customer inserted under an id that still has a row starts unsealed.
    """CREATE TRIGGER contacts_sealed_customer_insert AFTER INSERT ON customers BEGIN
        INSERT OR REPLACE INTO contacts_sealed (customer_id, contacts_enc) VALUES (NEW.id, NULL);
    END""",
    """CREATE TRIGGER contacts_sealed_customer_delete AFTER DELETE ON customers BEGIN
        DELETE FROM contacts_sealed WHERE customer_id = OLD.id;
    END""",
    *(
        statement
        for table in ("phones", "emails")
        for statement in (
            f"CREATE TRIGGER {table}_unseal_insert AFTER INSERT ON {table} BEGIN"
            f" {_UNSEAL.format(who='NEW')} END",
            f"CREATE TRIGGER {table}_unseal_delete AFTER DELETE ON {table} BEGIN"
            f" {_UNSEAL.format(who='OLD')} END",
            f"CREATE TRIGGER {table}_unseal_update AFTER UPDATE ON {table} BEGIN"
            f" {_UNSEAL.format(who='OLD')} {_UNSEAL.format(who='NEW')} END",
        )
    ),
]

MIGRATIONS: list[tuple[str, list[str]]] = [
    ("m001_initial", _M001_INITIAL),
    ("m002_match_keys", _M002_MATCH_KEYS),
    ("m003_stats_counters", _M003_STATS_COUNTERS),
    ("m004_sealed_contacts", _M004_SEALED_CONTACTS),
]

SCHEMA_VERSION = len(MIGRATIONS)


def apply_all(db: Database) -> None:
    """Apply every pending migration through sqlite-utils; the caller holds the write lock."""
    from sqlite_utils import Migrations

    migrations = Migrations("crmcli")
    for name, statements in MIGRATIONS:

        def run(db: Database, statements: list[str] = statements) -> None:
            for statement in statements:
                db.execute(statement)

        run.__name__ = name
        migrations(name=name)(run)
    migrations.apply(db)


def known_names() -> set[str]:
    return {name for name, _ in MIGRATIONS}
