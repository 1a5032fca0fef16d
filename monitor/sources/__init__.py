"""Sources: where articles come from. Each kind turns its input into RawArticle values."""
