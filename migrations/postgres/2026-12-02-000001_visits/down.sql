DROP TABLE visit_surveys;
DROP TABLE visit_issues;
DROP TABLE visit_visitors;
DROP TABLE visits;
