"""The CRM layer: one protocol (base.Crm), the embedded SQLite adapter and an HTTP adapter."""

from .base import Crm, CrmError, CrmUnavailable, GuardedCrm
from .settings import CrmSettings, HttpCrmSettings, open_crm

__all__ = ["Crm", "CrmError", "CrmSettings", "CrmUnavailable", "GuardedCrm", "HttpCrmSettings", "open_crm"]
