"""Coded values of the domain. Stored as their lower-case ``value`` strings."""

from enum import StrEnum


class PracticeStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    DORMANT = "dormant"
    PROPOSED = "proposed"


class Profession(StrEnum):
    GP = "gp"
    COMMUNITY_MATRON = "community_matron"
    DISTRICT_NURSE = "district_nurse"
    SOCIAL_WORKER = "social_worker"
    OCCUPATIONAL_THERAPIST = "occupational_therapist"
    PHYSIOTHERAPIST = "physiotherapist"
    MENTAL_HEALTH_NURSE = "mental_health_nurse"
    PHARMACIST = "pharmacist"
    CARE_NAVIGATOR = "care_navigator"
    VOLUNTARY_SECTOR = "voluntary_sector"
    ADMINISTRATOR = "administrator"


class Role(StrEnum):
    """What a staff member may do on the desk (matrix: ``services/access.py``)."""

    CARE_COORDINATOR = "care_coordinator"
    TEAM_MEMBER = "team_member"
    MDT_CHAIR = "mdt_chair"
    CARE_NAVIGATOR = "care_navigator"
    TEAM_ADMINISTRATOR = "team_administrator"
    PRIVACY_OFFICER = "privacy_officer"
    OBSERVER = "observer"


class AccessAction(StrEnum):
    """What an access-log row records."""

    OPEN = "open"
    PRINT = "print"
    EXPORT = "export"
    BREAK_GLASS = "break_glass"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKED_OUT = "locked_out"
    LOCK = "lock"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    NOT_KNOWN = "not_known"


class RiskBand(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


class CaseStatus(StrEnum):
    REFERRED = "referred"
    ACTIVE = "active"
    UNDER_REVIEW = "under_review"
    CLOSED = "closed"


class ReferralSource(StrEnum):
    GP = "gp"
    HOSPITAL = "hospital"
    SELF = "self"
    FAMILY_OR_CARER = "family_or_carer"
    SOCIAL_CARE = "social_care"
    COMMUNITY_HEALTH = "community_health"
    AMBULANCE_SERVICE = "ambulance_service"
    OTHER = "other"


class Urgency(StrEnum):
    ROUTINE = "routine"
    SOON = "soon"
    URGENT = "urgent"


class ClosureReason(StrEnum):
    GOALS_MET = "goals_met"
    STABLE_NO_LONGER_COMPLEX = "stable_no_longer_complex"
    MOVED_AWAY = "moved_away"
    DIED = "died"
    DECLINED = "declined"
    TRANSFERRED = "transferred"
    LONG_TERM_CARE = "long_term_care"
    OTHER = "other"
    #: a referral the team did not accept (why: ``Case.not_accepted_reason``)
    NOT_ACCEPTED = "not_accepted"


class NotAcceptedReason(StrEnum):
    """Why a referral was not accepted (free text stays in the closure note)."""

    NOT_ELIGIBLE = "not_eligible"
    NEEDS_MET_ELSEWHERE = "needs_met_elsewhere"
    DECLINED_BY_PERSON = "declined_by_person"
    DUPLICATE_REFERRAL = "duplicate_referral"
    OTHER = "other"


class GoalOutcome(StrEnum):
    ACHIEVED = "achieved"
    PARTLY_ACHIEVED = "partly_achieved"
    NOT_ACHIEVED = "not_achieved"
    NO_LONGER_RELEVANT = "no_longer_relevant"


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class InterventionKind(StrEnum):
    REABLEMENT = "reablement"
    INTERMEDIATE_CARE_BED = "intermediate_care_bed"
    STEP_UP_STEP_DOWN_BED = "step_up_step_down_bed"
    TELECARE = "telecare"
    IV_THERAPY_AT_HOME = "iv_therapy_at_home"
    REHABILITATION = "rehabilitation"
    SITTING_SERVICE = "sitting_service"
    COMMUNITY_EQUIPMENT = "community_equipment"


class InterventionOutcome(StrEnum):
    GOALS_MET = "goals_met"
    PARTLY_MET = "partly_met"
    ENDED_EARLY = "ended_early"
    ADMITTED_TO_HOSPITAL = "admitted_to_hospital"
    ONGOING_CARE_NEEDED = "ongoing_care_needed"


class OutcomeEventKind(StrEnum):
    HOSPITAL_ADMISSION = "hospital_admission"
    AE_ATTENDANCE = "ae_attendance"
    READMISSION_30_DAYS = "readmission_30_days"
    RESIDENTIAL_CARE_ADMISSION = "residential_care_admission"
    NURSING_CARE_ADMISSION = "nursing_care_admission"
    DELAYED_TRANSFER_OF_CARE = "delayed_transfer_of_care"
    DEATH = "death"


class DischargeDestination(StrEnum):
    """Where a person went when they left hospital (recorded on the admission)."""

    USUAL_RESIDENCE = "usual_residence"
    RESIDENTIAL_CARE = "residential_care"
    NURSING_CARE = "nursing_care"
    INTERMEDIATE_CARE = "intermediate_care"
    HOSPICE = "hospice"
    DIED = "died"
    OTHER = "other"


class ExperienceStatement(StrEnum):
    """The five statements of Norfolk's integrated care experience survey."""

    COMMUNICATED_WITH_ME = "communicated_with_me"
    COMMUNICATED_WITH_EACH_OTHER = "communicated_with_each_other"
    WELL_COORDINATED = "well_coordinated"
    RIGHT_PROFESSIONALS = "right_professionals"
    DID_NOT_REPEAT_STORY = "did_not_repeat_story"


class SurveyMethod(StrEnum):
    """How a survey response was collected."""

    PAPER = "paper"
    PHONE = "phone"
    IN_PERSON = "in_person"
    ONLINE = "online"


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class AttendanceStatus(StrEnum):
    INVITED = "invited"
    PRESENT = "present"
    APOLOGIES = "apologies"
    DEPUTY = "deputy"


class AgendaReason(StrEnum):
    NEW_REFERRAL = "new_referral"
    REVIEW_DUE = "review_due"
    RECENT_ADMISSION = "recent_admission"
    OVERDUE_ACTIONS = "overdue_actions"
    ESCALATED = "escalated"
    CARRIED_OVER = "carried_over"
    RISK_REVIEW = "risk_review"
    ADDED_BY_CHAIR = "added_by_chair"


class AgendaOutcome(StrEnum):
    CONTINUE_PLAN = "continue_plan"
    CHANGE_PLAN = "change_plan"
    ESCALATE = "escalate"
    REFER_ON = "refer_on"
    CLOSE_CASE = "close_case"
    DEFER = "defer"


class ConsentDecision(StrEnum):
    GIVEN = "given"
    DECLINED = "declined"
    BEST_INTERESTS = "best_interests"
    NOT_ASKED = "not_asked"


class AlertKind(StrEnum):
    LIVES_ALONE = "lives_alone"
    KEY_SAFE = "key_safe"
    DNACPR = "dnacpr"
    RISK_TO_STAFF = "risk_to_staff"
    INTERPRETER_NEEDED = "interpreter_needed"
    SAFEGUARDING = "safeguarding"
    CARER_STRESS = "carer_stress"
    OTHER = "other"


class DocumentKind(StrEnum):
    """The documents MDT Desk prints; each print is kept as a print record."""

    CARE_PLAN = "care_plan"
    AGENDA = "agenda"
    AGENDA_INITIALS = "agenda_initials"
    MINUTES = "minutes"
    CASELOAD_LIST = "caseload_list"
