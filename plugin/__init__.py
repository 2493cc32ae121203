"""The contact importer's core: bytes into rows, rows into records, records into a plan, mail into contacts.

Pure: it imports no web framework, database driver, IMAP client, password hasher or queue.
"""
