"""Institutions of the alliance: universities and colleges with their city and side.

The side (`sichuan` / `chongqing`) is data: 四川外国语大学 is in Chongqing, so nothing may guess it
from a name.
"""
