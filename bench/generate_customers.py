"""Realistic customer CSV files for the import benchmark, streamed row by row and deterministic by seed.

Columns: email, first_name, last_name, company_id, labels, plan (choice), seats (number), renewal_date (date),
and with --phones a phone column: personal mobiles written as a person would (07700 900123, +44 7700 900123,
+1 (415) 555-2671, +49 151 23456789: nearly every one distinct) and company switchboards (one per company
domain, repeated by its people), read in region GB.
Names mix plain Latin, accented, CJK and Cyrillic; emails are mixed-case over a few hundred domains; labels
are ':'-separated from LABELS; company ids run from 1 to --companies (the benchmark creates those companies).
About --bad-rate of the rows are bad on purpose, in three kinds: an invalid email, an unknown label, and an
email already used a few rows earlier in another case (a duplicate in the file).

`--revision 1` writes the same people with the same emails (some in another case), bad rows at the same
places, and a changed last name and seat count on every row: re-importing it updates every valid row.
Run from the repository root:

    python -m bench.generate_customers --rows 100000 --seed 7 --out /tmp/customers.csv [--revision 1]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import unicodedata
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

HEADER = ("email", "first_name", "last_name", "company_id", "labels", "plan", "seats", "renewal_date")
PHONE_HEADER = (*HEADER, "phone")
LABELS = ("Marketing", "Trial", "Demo", "VIP", "Newsletter", "Partner", "Enterprise", "SMB", "Beta", "Churn risk")
UNKNOWN_LABELS = ("vip", "Prospect", "Newsleter", "Enterprize")  # wrong case, unknown, typos
CUSTOM_FIELDS = (("plan", "choice", ("gold", "silver", "bronze", "trial")), ("seats", "number", ()),
                 ("renewal_date", "date", ()))
DEFAULT_COMPANIES = 200
DEFAULT_BAD_RATE = 0.002
RECENT_EMAILS = 500  # how far back a duplicate may look; keeps memory bounded

# (first names, last names, ASCII handles for the email when the script is not Latin), with a weight.
_LATIN_FIRST = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
                "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen",
                "Daniel", "Emily", "Matthew", "Olivia", "Anthony", "Sophie", "Mark", "Emma", "Paul", "Laura",
                "Raj", "Priya", "Ahmed", "Fatima", "Kwame", "Amara", "Lucas", "Noah", "Mia", "Liam")
_LATIN_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Anderson",
               "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark",
               "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker",
               "Patel", "Khan", "Okafor", "Mensah", "O'Brien", "Van der Berg", "McDonald", "Nguyen", "Kim", "Singh")
_ACCENTED_FIRST = ("José", "Zoë", "François", "Chloé", "Jürgen", "Søren", "Renée", "Ángel", "Björn", "Ana-María",
                   "Łukasz", "Dvořák", "Inês", "Joël", "Mårten", "Çağla", "Nuño", "Hélène", "Oğuz", "Élodie")
_ACCENTED_LAST = ("Müller", "Gómez", "Lefèvre", "Núñez", "Østergård", "Wójcik", "Schäfer", "Dubois-Lévêque",
                  "Fernández", "Žužek", "Håkansson", "Łęcki", "Gonçalves", "Çelik", "Brontë", "Kovačević",
                  "Sánchez", "Jäger", "D'Artagnan", "Ibáñez")
_CJK = (("伟", "王", "wei.wang"), ("芳", "李", "fang.li"), ("娜", "张", "na.zhang"), ("秀英", "刘", "xiuying.liu"),
        ("敏", "陈", "min.chen"), ("静", "杨", "jing.yang"), ("太郎", "佐藤", "taro.sato"), ("花子", "鈴木", "hanako.suzuki"),
        ("翔", "高橋", "sho.takahashi"), ("陽菜", "田中", "hina.tanaka"), ("민준", "김", "minjun.kim"),
        ("서연", "이", "seoyeon.lee"), ("지훈", "박", "jihoon.park"), ("美咲", "伊藤", "misaki.ito"))
_CYRILLIC = (("Иван", "Иванов", "ivan.ivanov"), ("Ольга", "Смирнова", "olga.smirnova"),
             ("Дмитрий", "Кузнецов", "dmitry.kuznetsov"), ("Анна", "Попова", "anna.popova"),
             ("Сергей", "Васильев", "sergey.vasilyev"), ("Наталья", "Петрова", "natalya.petrova"),
             ("Алексей", "Соколов", "alexey.sokolov"), ("Мария", "Михайлова", "maria.mikhailova"),
             ("Олександр", "Шевченко", "oleksandr.shevchenko"), ("Ђорђе", "Јовановић", "djordje.jovanovic"))

_FREE_MAIL = (("gmail.com", 30), ("yahoo.com", 8), ("hotmail.com", 7), ("outlook.com", 6), ("icloud.com", 4),
              ("aol.com", 2), ("gmx.de", 2), ("web.de", 2), ("mail.ru", 2), ("yandex.ru", 2), ("qq.com", 2),
              ("163.com", 1), ("naver.com", 1), ("orange.fr", 1), ("free.fr", 1), ("libero.it", 1),
              ("protonmail.com", 1), ("live.co.uk", 1), ("btinternet.com", 1), ("t-online.de", 1),
              ("yahoo.co.jp", 1), ("seznam.cz", 1), ("wp.pl", 1), ("uol.com.br", 1))
_COMPANY_WORDS = ("acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "vandelay", "soylent", "tyrell",
                  "cyberdyne", "wonka", "gringotts", "oceanic", "aperture", "massive", "blue", "north", "bright",
                  "river", "summit", "pixel", "quantum", "nordic", "alpine", "harbor", "cedar", "atlas")
_COMPANY_SUFFIXES = ("", "-labs", "corp", "-group", "soft", "-systems", "ware", "-consulting", "media", "-health")
_TLDS = ("com", "com", "com", "io", "co.uk", "de", "fr", "net", "org", "jp", "ru", "com.br", "es", "nl", "ca", "com.au")
COMPANY_DOMAINS = 320


@dataclass(frozen=True, slots=True)
class Person:
    first: str
    last: str
    handle_first: str  # ASCII, for the email's local part
    handle_last: str
    alternate_last: str  # the last name revision 1 writes


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


def _company_domains(rng: random.Random) -> list[str]:
    """A few hundred distinct, plausible company domains."""
    domains: dict[str, None] = {}
    while len(domains) < COMPANY_DOMAINS:
        word = rng.choice(_COMPANY_WORDS)
        second = rng.choice(_COMPANY_WORDS) if rng.random() < 0.4 else ""
        domains[f"{word}{second}{rng.choice(_COMPANY_SUFFIXES)}.{rng.choice(_TLDS)}"] = None
    return list(domains)


class CustomerRows:
    """The rows of one file, drawn in a fixed order from one seeded generator (revision changes no draw)."""

    def __init__(self, *, seed: int, companies: int, bad_rate: float, revision: int, phones: bool = False) -> None:
        self.rng = random.Random(seed)
        self.phones = phones
        self.companies = companies
        self.bad_rate = bad_rate
        self.revision = revision
        company_domains = _company_domains(self.rng)
        self.switchboards = {domain: f"+44 20 7946 {index:04d}" for index, domain in enumerate(company_domains)}
        free = [domain for domain, _ in _FREE_MAIL]
        # Free mail takes about 60% of addresses; company domains share the rest with a long tail (Zipf-like).
        self.domains = free + company_domains
        self.domain_weights = [weight * 2.0 for _, weight in _FREE_MAIL] + [
            45.0 / (rank + 1) for rank in range(len(company_domains))]
        self.recent: deque[str] = deque(maxlen=RECENT_EMAILS)

    def _person(self) -> Person:
        rng = self.rng
        script = rng.random()
        if script < 0.60:
            first, last = rng.choice(_LATIN_FIRST), rng.choice(_LATIN_LAST)
            alternate = rng.choice(_LATIN_LAST)
            handle_first, handle_last = _ascii(first), _ascii(last)
        elif script < 0.82:
            first, last = rng.choice(_ACCENTED_FIRST), rng.choice(_ACCENTED_LAST)
            alternate = rng.choice(_ACCENTED_LAST)
            handle_first, handle_last = _ascii(first), _ascii(last)
        elif script < 0.92:
            first, last, handle = rng.choice(_CJK)
            alternate = rng.choice(_CJK)[1]
            handle_first, _, handle_last = handle.partition(".")
        else:
            first, last, handle = rng.choice(_CYRILLIC)
            alternate = rng.choice(_CYRILLIC)[1]
            handle_first, _, handle_last = handle.partition(".")
        if alternate == last:
            alternate = f"{last}-{rng.choice(_LATIN_LAST)}"
        return Person(first, last, handle_first, handle_last, alternate)

    def _local_part(self, person: Person, number: int) -> str:
        """Unique by construction: every shape ends in the row number after a non-digit."""
        rng = self.rng
        shape = rng.random()
        first, last = person.handle_first or "user", person.handle_last or "x"
        if shape < 0.35:
            local = f"{first}.{last}{number}"
        elif shape < 0.55:
            local = f"{first[0]}{last}{number}"
        elif shape < 0.70:
            local = f"{first}_{last}.{number}"
        elif shape < 0.80:
            local = f"{first}+crm{number}"
        elif shape < 0.90:
            local = f"{last}-{first}{number}"
        else:
            local = f"{first}{number}"
        case = rng.random()
        if case < 0.35:
            return local.title()
        if case < 0.45:
            return local.upper()
        if case < 0.55:
            return local[0].upper() + local[1:]
        return local

    def _domain(self) -> str:
        domain = self.rng.choices(self.domains, self.domain_weights)[0]
        case = self.rng.random()
        if case < 0.05:
            return domain.upper()
        if case < 0.15:
            return domain.capitalize()
        return domain

    def _phone(self, number: int, domain: str) -> str:
        """A person's number, as people write them; a company address often gives the switchboard."""
        shape = self.rng.random()
        switchboard = self.switchboards.get(domain.lower())
        if switchboard is not None and shape < 0.4:
            return switchboard
        subscriber = number % 1_000_000
        if shape < 0.55:
            return f"07700 {subscriber:06d}"
        if shape < 0.75:
            return f"+44 7700 {subscriber:06d}"
        if shape < 0.85:
            return f"+1 (415) 55{subscriber // 10_000 % 10}-{subscriber % 10_000:04d}"
        if shape < 0.95:
            return f"+49 151 {20_000_000 + subscriber:08d}"
        return f"(0)7700-{subscriber:06d}"

    def rows(self, count: int) -> Iterator[tuple[str, ...]]:
        rng = self.rng
        for number in range(1, count + 1):
            person = self._person()
            local = self._local_part(person, number)
            domain = self._domain()
            email = f"{local}@{domain}"
            phone = self._phone(number, domain) if self.phones else None
            recase = rng.random() < 0.1
            labels = list(dict.fromkeys(rng.sample(LABELS, k=rng.choice((0, 1, 1, 1, 2, 2, 3)))))
            company = str(rng.randint(1, self.companies)) if self.companies and rng.random() < 0.7 else ""
            plan_choices = CUSTOM_FIELDS[0][2]
            plan = rng.choice(plan_choices) if rng.random() < 0.8 else ""
            plan = plan.capitalize() if plan and rng.random() < 0.2 else plan  # choices match case-insensitively
            seats = rng.choice((rng.randint(1, 50), rng.randint(50, 5000)))
            seats_text = f"{seats:,}.00" if seats >= 1000 and rng.random() < 0.3 else str(seats)  # as Excel exports
            renewal = f"{rng.randint(2025, 2028)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if rng.random() < 0.6 else ""
            bad = rng.random() < self.bad_rate
            bad_kind = rng.randrange(3)
            unknown_label = rng.choice(UNKNOWN_LABELS)
            last = person.last
            if self.revision:
                last = person.alternate_last
                seats_text = str(seats + self.revision)
                email = email.swapcase() if recase else email
            if bad and bad_kind == 0:
                email = email.replace("@", rng.choice(("@@", " at ", "@.", ",")), 1)
            elif bad and bad_kind == 1:
                labels.append(unknown_label)
            elif bad and bad_kind == 2 and self.recent:
                email = self.recent[-1].swapcase()  # the same address a little earlier, in another case
            else:
                self.recent.append(email)
            row = (email, person.first, last, company, ":".join(labels), plan, seats_text, renewal)
            yield row if phone is None else (*row, phone)


def write_customers(out: TextIO, rows: int, *, seed: int = 1, companies: int = DEFAULT_COMPANIES,
                    bad_rate: float = DEFAULT_BAD_RATE, revision: int = 0, phones: bool = False) -> None:
    """Write a header and `rows` customer rows to `out`, one at a time; with phones, a phone column too."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PHONE_HEADER if phones else HEADER)
    generator = CustomerRows(seed=seed, companies=companies, bad_rate=bad_rate, revision=revision, phones=phones)
    for row in generator.rows(rows):
        writer.writerow(row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="data rows (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same file (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    parser.add_argument("--bad-rate", type=float, default=DEFAULT_BAD_RATE,
                        help=f"share of rows bad on purpose (default {DEFAULT_BAD_RATE})")
    parser.add_argument("--companies", type=int, default=DEFAULT_COMPANIES,
                        help=f"company ids used, 1..N (default {DEFAULT_COMPANIES}); 0 leaves company_id empty")
    parser.add_argument("--phones", action="store_true", help="add a phone column to every row")
    parser.add_argument("--revision", type=int, default=0,
                        help="0: first import; 1 or more: the same people with changed names and seats (updates)")
    args = parser.parse_args(argv)
    if args.out is None:
        write_customers(sys.stdout, args.rows, seed=args.seed, companies=args.companies, bad_rate=args.bad_rate,
                        revision=args.revision, phones=args.phones)
        return
    with args.out.open("w", encoding="utf-8", newline="") as out:
        write_customers(out, args.rows, seed=args.seed, companies=args.companies, bad_rate=args.bad_rate,
                        revision=args.revision, phones=args.phones)


if __name__ == "__main__":
    main()
