"""Reviews and ratings: one review per reader and book, verified buyers, helpfulness votes,
moderation, and each book's rating summary kept by the transaction that writes."""
