"""HTTP faces of the gateway: the ihuyi endpoint, SOAP, the admin API."""
