"""Reports: maps and plots (matplotlib), HTML reports, GeoPackage export."""
