from modules.audit.construct import CIS_FILTERS, Audit, AuditProps, CisFilter

__all__ = ["CIS_FILTERS", "Audit", "AuditProps", "CisFilter"]
