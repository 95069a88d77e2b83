DELETE FROM deadline_policies WHERE rule = 'corrective_action.complete';
DROP TABLE accountability_records;
DROP TABLE corrective_actions;
