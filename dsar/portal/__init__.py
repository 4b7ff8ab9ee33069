"""The public portal: rights explained, the request form, the tracking pages."""
