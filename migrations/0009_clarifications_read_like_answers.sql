-- Clarification requests quote and discuss answers, so they are read like the answers: 0007 let
-- analysts read every request of a participant, including those on drafts and on returned
-- assessments they may not open. Now analysts see them only while the assessment is submitted,
-- resubmitted or accepted; staff and the delegation as before.
DROP POLICY clarification_requests_read ON clarification_requests;
CREATE POLICY clarification_requests_read ON clarification_requests FOR SELECT
    USING (pledge_may_read_answers(participant_id, assessment_id));

DROP POLICY clarification_messages_read ON clarification_messages;
CREATE POLICY clarification_messages_read ON clarification_messages FOR SELECT
    USING (pledge_may_read_answers(participant_id,
        (SELECT r.assessment_id FROM clarification_requests r WHERE r.id = request_id)));
