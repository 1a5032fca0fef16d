"""The email itself: a multipart/alternative message built once and stored frozen."""

from __future__ import annotations

import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from monitor.digests.render import Rendered

LIST_ID = "Media monitor digests <digests.monitor.local>"


def _one_line(value: str) -> str:
    return re.sub(r"[\r\n]+", " ", value).strip()


def sender_domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def compose(rendered: Rendered, sender: str, recipient_name: str, address: str, when: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = _one_line(rendered.subject)
    message["From"] = _one_line(sender)
    user, _, domain = address.partition("@")
    message["To"] = Address(display_name=_one_line(recipient_name), username=user, domain=domain)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(idstring="digest", domain=sender_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = LIST_ID
    message["List-Unsubscribe"] = f"<mailto:{parseaddr(sender)[1] or 'monitor@localhost'}?subject=unsubscribe>"
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return message
