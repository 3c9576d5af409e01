"""Personal information under China's PIPL: the privacy notice and consent, "download my data",
deletion requests (carried out by anonymizing) and the retention of uploads."""
