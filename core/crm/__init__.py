"""The CRM layer: one protocol (base.Crm), the embedded SQLite adapter and an HTTP adapter."""

from warmline.crm.base import Crm, CrmError, CrmUnavailable, GuardedCrm
from warmline.crm.settings import CrmSettings, HttpCrmSettings, open_crm

__all__ = ["Crm", "CrmError", "CrmSettings", "CrmUnavailable", "GuardedCrm", "HttpCrmSettings", "open_crm"]
