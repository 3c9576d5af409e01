"""Submissions (作品): what a team hands in for a round — files per material slot, a video link,
an abstract and a few facts about the venture — with every version kept, deadlines per team, and
downloads only for those who may read them.

Files are stored under generated names (competition.core.storage); the original, often Chinese,
name is kept for display and download. In blind rounds judges get copies without PDF and Office
metadata and never see who the team is.
"""
