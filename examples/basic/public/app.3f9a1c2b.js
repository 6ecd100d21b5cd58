document.querySelector('#year').textContent = String(new Date().getFullYear())
