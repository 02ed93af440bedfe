/** The spec example's ten customers: the demo data loaded into an empty database. */
export interface DemoCustomer {
  id: number;
  created_date: string;
  modified_date: string;
  omnitron_id: number;
  email: string;
  first_name: string;
  last_name: string;
  phone_number: string | null;
  erp_code: string | null;
  channel: number | null;
}

export const demoChannels = [{ id: 1, name: 'Demo channel' }] as const;

export const demoCustomers: readonly DemoCustomer[] = [
  {"id": 1, "created_date": "2023-10-06T08:42:53.427023Z", "modified_date": "2023-10-06T08:42:53.427050Z", "omnitron_id": 55, "email": "ali.test@akinon.com", "first_name": "Ali", "last_name": "Test", "phone_number": "05555554433", "erp_code": null, "channel": 1},
  {"id": 2, "created_date": "2023-09-05T13:36:59.653885Z", "modified_date": "2023-09-05T13:36:59.653913Z", "omnitron_id": 56, "email": "ipek.test@akinon.com", "first_name": "İpek", "last_name": "Test", "phone_number": "05555432100", "erp_code": null, "channel": 1},
  {"id": 3, "created_date": "2023-09-04T07:38:17.414588Z", "modified_date": "2023-09-04T07:38:17.414615Z", "omnitron_id": 57, "email": "ahmet.test@akinon.com", "first_name": "Ahmet", "last_name": "Test", "phone_number": "05454545454", "erp_code": null, "channel": 1},
  {"id": 4, "created_date": "2023-08-16T07:46:00.912768Z", "modified_date": "2023-09-13T11:20:37.500200Z", "omnitron_id": 60, "email": "tugce.test@akinon.com", "first_name": "Tuğçe", "last_name": "Test", "phone_number": null, "erp_code": null, "channel": 1},
  {"id": 5, "created_date": "2023-08-07T11:36:47.556620Z", "modified_date": "2023-08-07T11:36:47.556641Z", "omnitron_id": 61, "email": "veli.test@akinon.com", "first_name": "Veli", "last_name": "Test", "phone_number": "05550005555", "erp_code": null, "channel": 1},
  {"id": 6, "created_date": "2023-06-19T12:16:44.195162Z", "modified_date": "2023-06-19T12:16:44.195190Z", "omnitron_id": 66, "email": "zeynep.test@akinon.com", "first_name": "Zeynep", "last_name": "Test", "phone_number": null, "erp_code": null, "channel": 1},
  {"id": 7, "created_date": "2023-06-19T08:38:45.560031Z", "modified_date": "2023-06-19T08:38:45.560051Z", "omnitron_id": 70, "email": "mehmet.test@akinon.com", "first_name": "Mehmet", "last_name": "Test", "phone_number": "05556665544", "erp_code": null, "channel": 1},
  {"id": 8, "created_date": "2023-06-19T07:43:25.090872Z", "modified_date": "2023-06-19T07:52:42.410357Z", "omnitron_id": 81, "email": "fatma.test@gmail.com", "first_name": "Fatma", "last_name": "Test", "phone_number": "05555551122", "erp_code": null, "channel": 1},
  {"id": 9, "created_date": "2023-06-14T09:56:48.842924Z", "modified_date": "2023-06-14T11:25:10.352066Z", "omnitron_id": 101, "email": "emre.test@gmail.com", "first_name": "Emre", "last_name": "Test", "phone_number": null, "erp_code": null, "channel": 1},
  {"id": 10, "created_date": "2023-06-06T08:39:22.332325Z", "modified_date": "2023-06-09T11:10:00.248909Z", "omnitron_id": 105, "email": "yilmaz.test@akinon.net", "first_name": "Yılmaz", "last_name": "Test", "phone_number": "05554440000", "erp_code": null, "channel": 1},
];
