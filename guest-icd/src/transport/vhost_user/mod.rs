//! The host transport: the ICD plays VMM and guest kernel and speaks vhost-user to the device.
