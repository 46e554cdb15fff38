"""Every reason code, and the sentence a person is shown for it: the one catalogue.

Codes are for programs (stable, snake_case, listed in docs/reason-codes.md); people read
:func:`sentence`. Pages, the CLI and the donor's list of clips show the sentence, never
the bare code. ``tests/ingest/test_reasons.py`` fails when a code raised anywhere in
``src`` has no sentence here or no row in the docs.

Stored failure details come from decoders and the operating system; :func:`sanitise`
turns them into text fit for a donor (no server path, no FFmpeg function name).
"""

from __future__ import annotations

import re

SENTENCES: dict[str, str] = {
    # Sign-in and accounts
    "not_signed_in": "You are not signed in.",
    "bad_token": "Your sign-in token is unknown or no longer valid; sign in again.",
    "bad_credentials": "The username or password is wrong.",
    "token_expired": "Your sign-in token has expired; sign in again.",
    "unknown_token": "There is no such sign-in token of yours.",
    "bad_username": "A username is 2 to 64 of a–z, 0–9, '.', '_' and '-'.",
    "weak_password": "A password needs at least 8 characters.",
    "bad_handle": "A leaderboard name is 3 to 32 letters, digits, '_' or '-'.",
    "username_taken": "That username is taken.",
    "handle_taken": "That leaderboard name is taken.",
    "unknown_role": "There is no such role (donor, reviewer, admin, auditor).",
    "not_a_donor": "This account cannot donate.",
    "not_a_reviewer": "This account cannot review.",
    # Installation
    "missing_extra": "This command needs an optional part of vidonate that is not installed.",
    "unknown_asset": "There is no such file of the API documentation page.",
    "not_an_admin": "Only an administrator may do this.",
    "read_only_role": "An auditor account can read, not change anything.",
    "not_an_auditor": "Only an auditor or an administrator may read this.",
    "csrf_failed": "This form is out of date or did not come from vidonate; reload the page.",
    "rate_limited": "Too many requests; wait a little and try again.",
    "storage_unavailable": "The clip store is not reachable just now; try again in a minute.",
    # Campaigns and cameras
    "unknown_campaign": "There is no such campaign.",
    "campaign_exists": "A campaign with that name exists already.",
    "campaign_closed": "The campaign is not open for donations.",
    "bad_slug": "A campaign's short name is lower-case letters, digits and dashes.",
    "bad_category": "A category name is lower-case letters, digits and '_'.",
    "bad_dates": "A campaign must end after it starts.",
    "negative_amount": "Amounts of money cannot be negative.",
    "bad_incident_payment": "Pay either each angle or once per incident.",
    "empty_consent": "A consent text needs words.",
    "sensitive_category": "That category is about children or homes; it needs a "
    "sensitive-data campaign.",
    "sensitive_campaign_paid": "A campaign for sensitive footage cannot pay a reward.",
    "no_consent_text": "The campaign has no consent text, so it cannot take donations.",
    "unknown_camera": "That is not one of your cameras.",
    "camera_exists": "You have a camera with that name already.",
    "bad_camera_label": "A camera's name is 1 to 80 characters.",
    "unknown_placement": "A camera is on a porch, a driveway, a street, or indoors.",
    "bad_retention": "A campaign keeps clips for 1 to 3650 days.",
    # Uploads and donation metadata
    "tus_version": "The upload client speaks another version of the upload protocol.",
    "bad_upload_length": "The upload's length is not a whole number.",
    "bad_upload_offset": "The upload's offset is not a whole number.",
    "defer_length_unsupported": "The upload must say its length at the start.",
    "concatenation_unsupported": "Parallel uploads are not supported; send the file as one upload.",
    "empty_upload": "The file is empty: there is nothing to donate.",
    "upload_too_large": "The file is larger than the largest accepted upload.",
    "quota_exceeded": "You have too much waiting to be processed; try again when your "
    "earlier clips are done.",
    "body_too_large": "More bytes arrived than the upload said it has.",
    "bad_content_type": "The upload's bytes came with the wrong content type.",
    "unsupported_file_type": "This file is not a video vidonate reads (MP4/MOV, AVI, "
    "Matroska/WebM, MPEG-TS/PS, FLV, ASF or raw H.264).",
    "offset_mismatch": "The upload and the server disagree on how much has arrived; resume it.",
    "upload_complete": "This upload is complete already.",
    "upload_not_found": "There is no such upload.",
    "upload_expired": "The upload was not finished in time; donate the file again.",
    "unsupported_checksum": "The upload's checksum uses an algorithm vidonate does not take.",
    "bad_checksum": "The upload's checksum is malformed.",
    "checksum_mismatch": "A piece of the upload arrived damaged; it is sent again.",
    "bad_form": "The donate form arrived incomplete or malformed; reload it and try again.",
    "bad_metadata": "The donation's details are malformed or hold an unknown field.",
    "missing_metadata": "Say the campaign, the category and the camera.",
    "unknown_category": "The campaign has no such category.",
    "staged_not_allowed": "This campaign takes real clips only, no re-enactments.",
    "attestation_missing": "A staged clip needs your word that everyone filmed agreed.",
    "sensitive_placement": "Clips from indoor cameras show a home; this campaign does "
    "not take them.",
    "consent_missing": "Accept the campaign's consent text first.",
    "consent_outdated": "The consent text changed; read and accept the new one.",
    # Processing
    "unreadable": "The file is damaged or not a video, so it cannot be decoded.",
    "truncated": "The file is cut off: the recording was not finished or not fully copied.",
    "disallowed_format": "The file is a playlist or refers to other files; only "
    "self-contained videos are accepted.",
    "bad_timing": "The file's timestamps make no sense, so its length and events "
    "cannot be trusted.",
    "too_many_frames": "The file holds more frames than any camera records in its length.",
    "decode_limit_exceeded": "Decoding the file took more time or memory than a clip may.",
    "decoder_crashed": "The file made the video decoder crash.",
    "decoder_bad_answer": "The video decoder gave an answer that could not be trusted, so the "
    "clip was not used.",
    "processing_interrupted": "Processing this clip was interrupted too many times; it "
    "was given up.",
    "not_video": "The file holds no moving video (only sound, a still image or one frame).",
    "too_short": "The clip is too short (under the campaign's minimum length).",
    "too_long": "The clip is too long (over the maximum length).",
    "resolution_too_large": "The clip's picture is larger than 3840×2160.",
    "processing_error": "Something went wrong on our side while processing the clip; "
    "it was not your file's fault.",
    # Review
    "own_clip": "You cannot review your own clip.",
    "already_voted": "You have voted on this clip already.",
    "related_account": "You cannot review this clip: its donor's account is related to "
    "yours (a shared incident or camera scene).",
    "gold_clip_withdrawn": "That clip was withdrawn, so it cannot be a gold clip.",
    "gold_clip_undecided": "Only an accepted or rejected clip can be a gold clip.",
    "gold_clip_without_content": "That clip has no video left to show, so it cannot be "
    "a gold clip.",
    "gold_label_differs": "A gold clip's answer must be the reviewers' own decision and category.",
    "already_gold": "That clip is a gold clip already.",
    "not_gold": "That clip is not a gold clip.",
    "not_in_review": "The clip is not waiting for review.",
    "bad_decision": "A vote is accept or reject.",
    "reason_required": "A rejection needs a reason.",
    "unknown_donation": "There is no such clip.",
    "not_processed": "The clip has no processed video yet.",
    "bad_range": "The requested part of the video lies outside it.",
    "malformed_range": "The requested part of the video is malformed.",
    "bad_transition": "The clip cannot move to that state from where it is.",
    # Event intervals a reviewer marks on a clip
    "too_many_intervals": "Mark at most 20 event intervals on one clip.",
    "unknown_interval_label": "An event interval is package theft or car-door tampering.",
    "bad_interval": "An event interval starts at 0 s or later and ends after it starts.",
    "interval_beyond_clip": "An event interval must end within the clip.",
    "interval_on_normal_clip": "You voted this clip normal activity, so it has no event interval.",
    "interval_label_not_voted": "An event interval's label must be the category you voted for.",
    "unknown_suggestion": "That suggestion is not one of this clip's.",
    # Rejection reasons (a reviewer's vote)
    "not_an_incident": "Reviewers found no incident of the campaign's kind in it.",
    "wrong_category": "It shows an incident, but of another category.",
    "poor_quality": "It is too dark, blurred or cut to see what happens.",
    "privacy_risk": "It shows what must not be collected (a home's inside, children, "
    "readable faces).",
    "staged_not_disclosed": "It is a re-enactment donated as a real incident.",
    "duplicate": "The same footage was donated before.",
    "other": "Reviewers rejected it for another reason.",
    # Rewards
    "bad_weekly_goal": "A weekly goal is 1 to 1000 accepted clips.",
    "camera_cap_reached": "The camera has had as many paid clips in this category as "
    "the campaign pays.",
    "budget_exhausted": "The campaign's budget is used up.",
    "campaign_pays_nothing": "The campaign pays no reward.",
    "incident_already_paid": "Another angle of this incident was paid already.",
    # Spending a balance: the catalogue, redemptions, payouts, holds
    "insufficient_balance": "Your balance does not cover this.",
    "out_of_stock": "This item is out of stock.",
    "client_key_reused": "This request key was used for something else; make a new one.",
    "bad_client_key": "The request key is not valid; use a UUID.",
    "item_unavailable": "This item is no longer offered.",
    "shipping_address_required": "A product needs a shipping address.",
    "unknown_item": "There is no such item in the catalogue.",
    "unknown_item_kind": "An item is a gift card or a product.",
    "bad_item_name": "An item's name is 1 to 120 characters.",
    "bad_price": "A price is a positive number of cents.",
    "bad_face_value": "A face value is a positive number of cents.",
    "bad_stock": "That stock figure is not possible.",
    "not_a_gift_card": "Codes can only be added to a gift card.",
    "not_a_product": "Only a product is restocked by units.",
    "bad_gift_card_code": "A gift-card code is 1 to 200 characters.",
    "gift_card_code_exists": "One of these codes is stocked already.",
    "unknown_redemption": "There is no such redemption of yours.",
    "no_gift_card_code": "This redemption has no gift-card code.",
    "not_awaiting_shipment": "This redemption is not waiting to be shipped.",
    "payouts_held": "Payouts and redemptions of your account are held; your holds say why.",
    "unknown_hold": "There is no such hold.",
    "hold_not_open": "This hold was released already.",
    "bad_tax_details": "Tax details are 1 to 2,000 characters.",
    "tax_details_required": "This year's rewards passed the amount above which we need "
    "your tax details.",
    "shared_camera_scene": "The same camera scene was donated from more than one account; "
    "an operator is checking.",
    "mutual_voting": "Accounts linked to yours reviewed each other's clips unusually often; "
    "an operator is checking.",
    "unknown_payout_provider": "There is no such payout provider.",
    "bad_period": "A period is a month, written YYYY-MM.",
    "bad_payout_receiver": "A PayPal receiver is an email address.",
    "bad_payout_amount": "A payout is $1 to $20,000.",
    "payout_destination_required": "Give the PayPal address to pay out to first.",
    "unknown_payout": "There is no such payout of yours.",
    "payout_not_cancellable": "This payout can no longer be cancelled.",
    "period_open": "That month has not ended yet.",
    "unknown_payout_batch": "There is no such payout batch.",
    # Requests
    "invalid_request": "The request has fields of the wrong shape.",
    "method_not_allowed": "That kind of request is not taken here.",
    "headers_too_large": "The request's headers are too large.",
    # Disclosures
    "bad_recipient": "Name who receives the disclosure (at most 200 characters).",
    "bad_legal_basis": "State the legal basis (at most 200 characters).",
    "bad_donation_count": "The number of clips disclosed is a whole number of 0 or more.",
    "bad_description": "A description has at most 2,000 characters.",
    "bad_disclosure_time": "The time is not ISO 8601 with a zone, or lies in the future.",
    # Withdrawal and retention
    "already_withdrawn": "The clip is withdrawn already.",
    "content_destroyed": "The clip's key is destroyed; nobody can read it any more.",
    "confirmation_missing": "Tick the box to confirm.",
    # Releases and the detector
    "unknown_release": "There is no such dataset release.",
    "nothing_to_release": "No accepted clip may be used for training yet.",
    "bad_split_ratios": "Split ratios are non-negative numbers for train, val and test.",
    "unknown_model": "There is no such model.",
    "unknown_evidence": "The detector's evidence maps are bg, removed, dwell and hog.",
    "empty_body": "Send a video in the request's body.",
    "promotion_gate_failed": "The model is worse than the served one on a gate check, so it "
    "was not promoted.",
    "force_needs_reason": "A forced promotion needs a reason.",
    "model_already_served": "That model is the served model already.",
    "served_model_changed": "Another model was promoted meanwhile; promote again.",
    "export_dir_not_empty": "The export folder is not empty; pass --force to write there.",
    "no_such_file": "There is no such file.",
    # The command-line client
    "server_unreachable": "The server did not answer.",
}


def sentence(code: str | None) -> str:
    """What a person is told for ``code``; an unknown one still reads as words."""
    if not code:
        return ""
    return SENTENCES.get(code) or code.replace("_", " ").capitalize() + "."


# Where a clip stands, in words; the ones that still move are "pending".
_STATUS_WORDS = {
    "uploading": "upload not finished",
    "received": "waiting to be processed",
    "processing": "being processed",
    "in_review": "in review",
    "accepted": "accepted",
    "rejected": "rejected",
    "failed": "failed",
    "withdrawn": "withdrawn",
}
PENDING = frozenset({"uploading", "received", "processing"})


def status_words(
    status: str,
    failure_reason: str | None = None,
    rejection_reason: str | None = None,
    unpaid_reason: str | None = None,
) -> str:
    """A clip's state as a donor reads it: "failed: The file is cut off: …"."""
    words = _STATUS_WORDS.get(status, status.replace("_", " "))
    reason = {"failed": failure_reason, "rejected": rejection_reason}.get(status)
    if status == "accepted" and unpaid_reason:
        return f"accepted, unpaid: {sentence(unpaid_reason)}"
    return f"{words}: {sentence(reason)}" if reason else words


# An absolute path (in quotes or bare), as FFmpeg and the OS put them in error texts.
_QUOTED_PATH = re.compile(r"""(?:[:,]\s*)?(['"])(?:[A-Za-z]:)?[/\\][^'"]*\1""")
_BARE_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?(?:[/\\][\w.\-~+@]+){2,}[/\\]?")
# FFmpeg's function names ("avcodec_send_packet()") and its numeric error prefixes.
_FUNCTION = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\(\)\s*(?:failed\s*)?:?\s*")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
_SPACE = re.compile(r"\s{2,}")


def sanitise(detail: str | None) -> str | None:
    """``detail`` without server paths, FFmpeg function names or error numbers."""
    if not detail:
        return detail
    text = _QUOTED_PATH.sub("", detail)
    text = _BARE_PATH.sub("the file", text)
    text = _FUNCTION.sub("", text)
    text = _ERRNO.sub("", text)
    text = _SPACE.sub(" ", text).replace("()", "").replace(" )", ")").replace("( ", "(")
    return text.strip()
