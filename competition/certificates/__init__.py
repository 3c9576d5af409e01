"""Certificates: bilingual PDFs for winners, members, advisors and judges, verifiable by QR code."""
