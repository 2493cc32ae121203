"""Companies and their mail domains: which company a new customer joins by the domain of their address.

One pure rule for every source: a customer created by an import, by mail capture, or placed later by
`contact-importer companies assign-by-domain`, joins the company that owns their email's domain, unless the
domain is a free-mail provider's (gmail.com and the like never belong to one company).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from plugin.emails import InvalidEmail, email_domain, normalize_domain
from plugin.kinds import CellProblem

# Mail providers whose addresses say nothing about an employer; the free_mail_domains setting adds more.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de",
    "hotmail.it", "hotmail.es", "live.com", "live.co.uk", "live.fr", "msn.com", "yahoo.com", "yahoo.co.uk",
    "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "yahoo.co.jp", "yahoo.com.br", "ymail.com", "rocketmail.com",
    "icloud.com", "me.com", "mac.com", "aol.com", "aim.com", "gmx.de", "gmx.net", "gmx.com", "gmx.at", "web.de",
    "t-online.de", "freenet.de", "proton.me", "protonmail.com", "pm.me", "tutanota.com", "tuta.io",
    "zoho.com", "mail.com", "fastmail.com", "hey.com", "yandex.ru", "yandex.com", "ya.ru", "mail.ru", "bk.ru",
    "inbox.ru", "list.ru", "rambler.ru", "qq.com", "163.com", "126.com", "sina.com", "sohu.com", "foxmail.com",
    "naver.com", "daum.net", "hanmail.net", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "laposte.net",
    "libero.it", "virgilio.it", "btinternet.com", "sky.com", "virginmedia.com", "seznam.cz", "wp.pl", "o2.pl",
    "interia.pl", "onet.pl", "uol.com.br", "bol.com.br", "terra.com.br", "rediffmail.com", "gmx.ch", "bluewin.ch",
})


def company_name_key(name: str) -> str:
    """The case-insensitive identity of a company name: spaces collapsed, casefolded."""
    return " ".join(name.split()).casefold()


def parse_domains(text: str) -> tuple[str, ...]:
    """'Acme.com:acme.CO.uk' → ('acme.com', 'acme.co.uk'): each checked like an address's domain, IDNA, lowercase."""
    domains: dict[str, None] = {}
    for part in text.split(":"):
        if not part.strip():
            continue
        try:
            domains[normalize_domain(part)] = None
        except InvalidEmail as error:
            raise CellProblem("domains.invalid", f"{part.strip()!r} is not a mail domain: {error}") from None
    return tuple(domains)


def is_free_mail(domain: str, extra_free_mail: Collection[str] = ()) -> bool:
    """Is this a free-mail provider's domain (shipped list, or the free_mail_domains setting)?"""
    return domain in FREE_MAIL_DOMAINS or domain in extra_free_mail


def company_for_email(email: str, company_domains: Mapping[str, int],
                      extra_free_mail: Collection[str] = ()) -> int | None:
    """The id of the company whose domains include the address's domain; None for free mail or no owner."""
    domain = email_domain(email)
    if not domain or is_free_mail(domain, extra_free_mail):
        return None
    return company_domains.get(domain)
