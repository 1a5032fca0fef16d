"""Stories: copies of one article and reports of one event grouped together."""
