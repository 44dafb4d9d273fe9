"""A live call's conversation assembled: the listening session, the dialogue and the hand-off composed
into the session a PBX plugin drives."""
