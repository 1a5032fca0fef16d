"""Articles: raw source items reduced to clean text with canonical URLs and UTC dates."""
