"""crmcli: a customer-relationship manager for one salesperson, over one local SQLite file."""

__version__ = "0.1.0"
