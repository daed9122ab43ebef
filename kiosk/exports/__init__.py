"""Files the library system imports: Koha .koc, CSV, JSON lines and Evergreen's
pending.xacts; and merging the exports of several kiosks."""
