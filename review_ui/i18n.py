"""Every string the review UI shows, one dict per language.

Templates look strings up through `t(key)`; a key missing in a language falls
back to English, so a partly translated language never shows a blank.
"""

from __future__ import annotations

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "app_title": "Trafficcam review",
        "login": "Log in",
        "logout": "Log out",
        "username": "User name",
        "password": "Password",
        "wrong_credentials": "Wrong user name or password",
        "violations": "Violations",
        "violation": "Violation",
        "time": "Time",
        "camera": "Camera",
        "location": "Location",
        "rule": "Rule",
        "vehicle": "Vehicle",
        "plate": "Plate",
        "status": "Status",
        "evidence": "Evidence",
        "filter": "Filter",
        "no_violations": "No violations with this status.",
        "status_all": "All",
        "status_pending": "pending",
        "status_confirmed": "confirmed",
        "status_rejected": "rejected",
        "measurements": "Measurements",
        "explanation": "Explanation",
        "rule_version": "Rule version",
        "scene_version": "Scene version",
        "kind": "Kind",
        "file": "File",
        "size": "Size",
        "sha256": "SHA-256",
        "hash_ok": "matches record",
        "hash_mismatch": "DOES NOT MATCH record",
        "file_missing": "file missing",
        "review_history": "Review history",
        "no_reviews": "Not reviewed yet.",
        "reviewer": "Reviewer",
        "decision": "Decision",
        "reason": "Reason",
        "reason_text": "Details",
        "plate_correction": "Plate correction",
        "plate_correction_hint": "Leave empty when the plate is right",
        "confirm": "Confirm",
        "reject": "Reject",
        "review": "Review",
        "read_only": "Your role can view violations but not review them.",
        "review_saved": "Review saved.",
        "back_to_list": "Back to the list",
        "error_reason_text": "Describe the reason when choosing Other.",
        "error_plate": "A plate may only hold letters, digits, '-', '.' and spaces.",
        "error_decision": "Choose confirm or reject.",
        "error_reason": "Choose a reason from the list.",
        "reason_evidence_clear": "Evidence clear",
        "reason_vehicle_misidentified": "Vehicle misidentified",
        "reason_signal_not_red": "Signal not red",
        "reason_not_a_violation": "Not a violation",
        "reason_other": "Other",
        "rule_red_light": "Red light",
        "local_time_note": "Times in Vietnam time (UTC+7)",
        "signed_in_as": "Signed in as",
        "language": "Language",
    },
    "vi": {
        "app_title": "Trafficcam - duyệt vi phạm",
        "login": "Đăng nhập",
        "logout": "Đăng xuất",
        "username": "Tên đăng nhập",
        "password": "Mật khẩu",
        "wrong_credentials": "Sai tên đăng nhập hoặc mật khẩu",
        "violations": "Vi phạm",
        "violation": "Vi phạm",
        "time": "Thời gian",
        "camera": "Camera",
        "location": "Vị trí",
        "rule": "Lỗi",
        "vehicle": "Phương tiện",
        "plate": "Biển số",
        "status": "Trạng thái",
        "evidence": "Bằng chứng",
        "filter": "Lọc",
        "no_violations": "Không có vi phạm nào ở trạng thái này.",
        "status_all": "Tất cả",
        "status_pending": "chờ duyệt",
        "status_confirmed": "đã xác nhận",
        "status_rejected": "đã bác bỏ",
        "measurements": "Số đo",
        "explanation": "Giải thích",
        "review_history": "Lịch sử duyệt",
        "no_reviews": "Chưa được duyệt.",
        "reviewer": "Người duyệt",
        "decision": "Quyết định",
        "reason": "Lý do",
        "reason_text": "Chi tiết",
        "plate_correction": "Sửa biển số",
        "confirm": "Xác nhận",
        "reject": "Bác bỏ",
        "review": "Duyệt",
        "review_saved": "Đã lưu kết quả duyệt.",
        "back_to_list": "Về danh sách",
        "reason_evidence_clear": "Bằng chứng rõ ràng",
        "reason_vehicle_misidentified": "Nhận dạng sai phương tiện",
        "reason_signal_not_red": "Đèn không đỏ",
        "reason_not_a_violation": "Không phải vi phạm",
        "reason_other": "Khác",
        "rule_red_light": "Vượt đèn đỏ",
        "local_time_note": "Giờ Việt Nam (UTC+7)",
        "signed_in_as": "Đăng nhập với tên",
        "language": "Ngôn ngữ",
    },
}


def translate(key: str, language: str, default: str | None = None) -> str:
    """The label for `key` in `language`, else English, else `default`, else the key.

    `default` lets a template show a raw value (a rule type or status added
    later) rather than a label key while no label exists for it yet.

    Example:
        >>> translate("login", "vi")
        'Đăng nhập'
    """
    return LABELS.get(language, {}).get(key) or LABELS["en"].get(key) or default or key
