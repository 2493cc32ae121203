"""Files shaped like the real exports people bring: Outlook's contacts CSV (all its columns, `;` categories),
Google Contacts' CSV (`Group Membership` with its own `* myContacts` groups) and Qwil's clients template
(`Group Identifier`). Each generator returns the CSV text and what every row should become."""

from __future__ import annotations

from dataclasses import dataclass

from plugin.report import write_csv

# Outlook's "Export to a file → Comma Separated Values", every column in its order.
OUTLOOK_HEADERS = (
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department", "Job Title",
    "Business Street", "Business Street 2", "Business Street 3", "Business City", "Business State",
    "Business Postal Code", "Business Country/Region", "Home Street", "Home Street 2", "Home Street 3", "Home City",
    "Home State", "Home Postal Code", "Home Country/Region", "Other Street", "Other Street 2", "Other Street 3",
    "Other City", "Other State", "Other Postal Code", "Other Country/Region", "Assistant's Phone", "Business Fax",
    "Business Phone", "Business Phone 2", "Callback", "Car Phone", "Company Main Phone", "Home Fax", "Home Phone",
    "Home Phone 2", "ISDN", "Mobile Phone", "Other Fax", "Other Phone", "Pager", "Primary Phone", "Radio Phone",
    "TTY/TDD Phone", "Telex", "Account", "Anniversary", "Assistant's Name", "Billing Information", "Birthday",
    "Business Address PO Box", "Categories", "Children", "Directory Server", "E-mail Address", "E-mail Type",
    "E-mail Display Name", "E-mail 2 Address", "E-mail 2 Type", "E-mail 2 Display Name", "E-mail 3 Address",
    "E-mail 3 Type", "E-mail 3 Display Name", "Gender", "Government ID Number", "Hobby", "Home Address PO Box",
    "Initials", "Internet Free Busy", "Keywords", "Language", "Location", "Manager's Name", "Mileage", "Notes",
    "Office Location", "Organizational ID Number", "Other Address PO Box", "Priority", "Private", "Profession",
    "Referred By", "Sensitivity", "Spouse", "User 1", "User 2", "User 3", "User 4", "Web Page",
)
# Categories as Outlook writes them, and the labels each must become.
OUTLOOK_CATEGORIES = (
    ("Marketing;VIP", {"Marketing", "VIP"}), ("VIP", {"VIP"}), ("", set()), ("Marketing; Trial", {"Marketing", "Trial"}),
    ("Trial;VIP;Marketing", {"Marketing", "Trial", "VIP"}), ("Trial", {"Trial"}),
)
OUTLOOK_LABELS = ("Marketing", "Trial", "VIP")

# Google Contacts' "Export → Google CSV", every column in its order.
GOOGLE_HEADERS = (
    "Name", "Given Name", "Additional Name", "Family Name", "Yomi Name", "Given Name Yomi", "Additional Name Yomi",
    "Family Name Yomi", "Name Prefix", "Name Suffix", "Initials", "Nickname", "Short Name", "Maiden Name", "Birthday",
    "Gender", "Location", "Billing Information", "Directory Server", "Mileage", "Occupation", "Hobby", "Sensitivity",
    "Priority", "Subject", "Notes", "Language", "Photo", "Group Membership", "E-mail 1 - Type", "E-mail 1 - Value",
    "Phone 1 - Type", "Phone 1 - Value", "Organization 1 - Type", "Organization 1 - Name",
    "Organization 1 - Yomi Name", "Organization 1 - Title", "Organization 1 - Department", "Organization 1 - Symbol",
    "Organization 1 - Location", "Organization 1 - Job Description", "Website 1 - Type", "Website 1 - Value",
)
GOOGLE_GROUPS = (
    ("* myContacts", set()), ("* myContacts ::: Friends", {"Friends"}), ("* starred", set()),
    ("* myContacts ::: * starred ::: VIP ::: Friends", {"Friends", "VIP"}), ("", set()),
    ("Friends ::: * myContacts", {"Friends"}),
)

# Qwil's clients template: column G is the Group Identifier, the client team's name.
QWIL_HEADERS = ("First Name", "Last Name", "Email", "Mobile Number", "Job Title", "Client Reference", "Group Identifier")
QWIL_TEAMS = ("LondonTeam", "LeedsTeam")


@dataclass(frozen=True, slots=True)
class Expected:
    """What one row should be stored as."""

    email: str
    first_name: str
    last_name: str
    labels: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    phone: str = ""
    mobile: str = ""


def outlook_export(rows: int) -> tuple[str, list[Expected]]:
    """Outlook's CSV of `rows` contacts, most columns empty as in a real one, Categories split by ';'."""
    lines, expected = [], []
    at = {header: index for index, header in enumerate(OUTLOOK_HEADERS)}
    for number in range(rows):
        categories, labels = OUTLOOK_CATEGORIES[number % len(OUTLOOK_CATEGORIES)]
        email = f"contact{number}@outlook-example.com"
        cells = [""] * len(OUTLOOK_HEADERS)
        phone = f"+44 20 7946 {number % 10000:04d}" if number % 3 else ""
        mobile = f"+44 7700 9{number % 100000:05d}" if number % 4 == 0 else ""
        for header, value in (("First Name", f"Ann{number}"), ("Last Name", f"Lee{number}"),
                              ("Business Phone", phone), ("Mobile Phone", mobile), ("Categories", categories),
                              ("E-mail Address", email), ("E-mail Type", "SMTP"),
                              ("E-mail Display Name", f"Ann{number} Lee{number} ({email})"),
                              ("Gender", "Unspecified"), ("Initials", "A.L."), ("Priority", "Normal"),
                              ("Private", "False"), ("Sensitivity", "Normal"), ("Notes", "Met at the fair; call back")):
            cells[at[header]] = value
        lines.append(cells)
        expected.append(Expected(email, f"Ann{number}", f"Lee{number}", frozenset(labels),
                                 phone=phone.replace(" ", ""), mobile=mobile.replace(" ", "")))
    return "".join(write_csv(list(OUTLOOK_HEADERS), lines)), expected


def google_export(rows: int) -> tuple[str, list[Expected]]:
    """Google Contacts' CSV: Group Membership holding Google's own groups alone and in ' ::: ' lists."""
    lines, expected = [], []
    at = {header: index for index, header in enumerate(GOOGLE_HEADERS)}
    for number in range(rows):
        groups, labels = GOOGLE_GROUPS[number % len(GOOGLE_GROUPS)]
        email = f"friend{number}@gmail-example.com"
        cells = [""] * len(GOOGLE_HEADERS)
        for header, value in (("Name", f"Bo{number} Ng{number}"), ("Given Name", f"Bo{number}"),
                              ("Family Name", f"Ng{number}"), ("Group Membership", groups),
                              ("E-mail 1 - Type", "* Home"), ("E-mail 1 - Value", email),
                              ("Phone 1 - Type", "Mobile"), ("Phone 1 - Value", f"+1 202-555-{number % 10000:04d}")):
            cells[at[header]] = value
        lines.append(cells)
        expected.append(Expected(email, f"Bo{number}", f"Ng{number}", frozenset(labels),
                                 phone=f"+1202555{number % 10000:04d}"))
    return "".join(write_csv(list(GOOGLE_HEADERS), lines)), expected


def qwil_clients(rows: int) -> tuple[str, list[Expected]]:
    """Qwil's clients file: mobile numbers with their international code, and each client's team in column G."""
    lines, expected = [], []
    for number in range(rows):
        team = QWIL_TEAMS[number % len(QWIL_TEAMS)]
        email = f"client{number}@qwil-example.com"
        lines.append([f"Cy{number}", f"Oh{number}", email, f"+447700{number % 1000000:06d}", "Director",
                      f"REF-{number:05d}", team])
        expected.append(Expected(email, f"Cy{number}", f"Oh{number}", groups=frozenset({team}),
                                 mobile=f"+447700{number % 1000000:06d}"))
    return "".join(write_csv(list(QWIL_HEADERS), lines)), expected


def stored_as_expected(exported: list[dict[str, str]], expected: list[Expected]) -> list[str]:
    """What differs between `export customers` (rows as dicts) and the expected rows: empty when all is right."""
    by_email = {row["email"]: row for row in exported}
    problems = []
    for want in expected:
        row = by_email.get(want.email)
        if row is None:
            problems.append(f"{want.email} missing")
            continue
        got = (row["first_name"], row["last_name"], set(filter(None, row["labels"].split(":"))),
               set(filter(None, row["groups"].split(":"))), row["phone"].lstrip("'"), row["mobile"].lstrip("'"))
        wanted = (want.first_name, want.last_name, set(want.labels), set(want.groups), want.phone, want.mobile)
        if got != wanted:
            problems.append(f"{want.email}: {got} != {wanted}")
    return problems
